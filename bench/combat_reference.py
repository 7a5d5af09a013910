#!/usr/bin/env python3
"""Reference ComBat numbers for voxshift's tests (harmonize/combat.ts is checked against them).

An independent numpy implementation of the published equations: Johnson, Li & Rabinovic,
Biostatistics 8:118 (2007), as used for imaging features by Fortin et al. (neuroCombat):
location/scale model with parametric empirical Bayes priors, optional reference batch, biological
covariates in the design matrix. Data are laid out as in neuroCombat, features x samples.

Reads test/fixtures/reference/combat-input.json (written by bench/harmonize-combat-table.ts) and
writes test/fixtures/reference/combat-reference.json:

    /usr/bin/python3 bench/combat_reference.py
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', 'test', 'fixtures', 'reference')


def design_matrix(sites, batches, covariates, cov_names, levels):
    """[batch indicators | numeric covariates | categorical one-hot without the first level]."""
    n = len(sites)
    cols = [np.array([1.0 if s == b else 0.0 for s in sites]) for b in batches]
    for name in cov_names:
        col = covariates[name]
        if name in levels:
            for lev in levels[name][1:]:
                cols.append(np.array([1.0 if v == lev else 0.0 for v in col]))
        else:
            cols.append(np.array(col, dtype=float))
    return np.column_stack(cols).reshape(n, -1)


def postmean(g_hat, g_bar, n, d_star, t2):
    return (t2 * n * g_hat + d_star * g_bar) / (t2 * n + d_star)


def postvar(sum2, n, a, b):
    return (0.5 * sum2 + b) / (n / 2.0 + a - 1.0)


def aprior(delta_hat):
    m = np.mean(delta_hat)
    s2 = np.var(delta_hat, ddof=1)
    return (2 * s2 + m ** 2) / s2


def bprior(delta_hat):
    m = np.mean(delta_hat)
    s2 = np.var(delta_hat, ddof=1)
    return (m * s2 + m ** 3) / s2


def it_sol(sdat, g_hat, d_hat, g_bar, t2, a, b, conv=0.0001):
    n = sdat.shape[1]
    g_old, d_old = g_hat.copy(), d_hat.copy()
    change, count = 1.0, 0
    while change > conv:
        g_new = postmean(g_hat, g_bar, n, d_old, t2)
        sum2 = ((sdat - g_new[:, None]) ** 2).sum(axis=1)
        d_new = postvar(sum2, n, a, b)
        change = max((abs(g_new - g_old) / abs(g_old)).max(), (abs(d_new - d_old) / abs(d_old)).max())
        g_old, d_old = g_new, d_new
        count += 1
    return g_new, d_new, count


def combat_fit(table, cov_names, ref=None, eb=True):
    dat = np.array(table['values'], dtype=float).T  # features x samples
    sites = table['sites']
    batches = sorted(set(sites))
    levels = {}
    for name in cov_names:
        col = table['covariates'][name]
        if any(isinstance(v, str) for v in col):
            levels[name] = sorted(set(col))
    X = design_matrix(sites, batches, table['covariates'], cov_names, levels)
    nb = len(batches)
    idx = [np.array([i for i, s in enumerate(sites) if s == b]) for b in batches]
    n_batch = np.array([len(i) for i in idx], dtype=float)
    n = dat.shape[1]

    B_hat = np.linalg.solve(X.T @ X, X.T @ dat.T)  # (nb + q) x features
    if ref is None:
        grand_mean = (n_batch / n) @ B_hat[:nb, :]
        resid = dat - (X @ B_hat).T
        var_pooled = (resid ** 2).mean(axis=1)
    else:
        r = batches.index(ref)
        grand_mean = B_hat[r, :]
        resid = dat[:, idx[r]] - (X[idx[r], :] @ B_hat).T
        var_pooled = (resid ** 2).mean(axis=1)

    def stand_mean_of(Xrows):
        tmp = Xrows.copy()
        tmp[:, :nb] = 0
        return grand_mean[:, None] + (tmp @ B_hat).T

    stand_mean = stand_mean_of(X)
    s_data = (dat - stand_mean) / np.sqrt(var_pooled)[:, None]

    batch_design = X[:, :nb]
    gamma_hat = np.linalg.solve(batch_design.T @ batch_design, batch_design.T @ s_data.T)  # nb x features
    delta_hat = np.array([np.var(s_data[:, i], axis=1, ddof=1) for i in idx])

    gamma_star, delta_star, iterations = [], [], []
    for b in range(nb):
        if eb:
            g_bar = gamma_hat[b].mean()
            t2 = np.var(gamma_hat[b], ddof=1)
            a, bb = aprior(delta_hat[b]), bprior(delta_hat[b])
            g, d, c = it_sol(s_data[:, idx[b]], gamma_hat[b], delta_hat[b], g_bar, t2, a, bb)
        else:
            g, d, c = gamma_hat[b], delta_hat[b], 0
        gamma_star.append(g)
        delta_star.append(d)
        iterations.append(c)
    gamma_star = np.array(gamma_star)
    delta_star = np.array(delta_star)
    if ref is not None:
        r = batches.index(ref)
        gamma_star[r] = 0.0
        delta_star[r] = 1.0

    def adjust(values, sites_, covariates_):
        d = np.array(values, dtype=float).T
        Xn = design_matrix(sites_, batches, covariates_, cov_names, levels)
        sm = stand_mean_of(Xn)
        s = (d - sm) / np.sqrt(var_pooled)[:, None]
        out = np.empty_like(s)
        for j, site in enumerate(sites_):
            b = batches.index(site)
            out[:, j] = (s[:, j] - gamma_star[b]) / np.sqrt(delta_star[b])
        out = out * np.sqrt(var_pooled)[:, None] + sm
        if ref is not None:
            for j, site in enumerate(sites_):
                if site == ref:
                    out[:, j] = d[:, j]
        return out.T

    return {
        'batches': batches,
        'grandMean': grand_mean.tolist(),
        'varPooled': var_pooled.tolist(),
        'gammaHat': gamma_hat.tolist(),
        'deltaHat': delta_hat.tolist(),
        'gammaStar': gamma_star.tolist(),
        'deltaStar': delta_star.tolist(),
        'iterations': iterations,
        'adjust': adjust,
    }


CASES = [
    # name, covariates, reference batch, empirical Bayes
    ('eb-covariates', ['headMl', 'group'], None, True),
    ('eb-reference', ['headMl', 'group'], 'siteA', True),
    ('location-scale', [], None, False),
]


def main():
    with open(os.path.join(FIXTURES, 'combat-input.json')) as f:
        data = json.load(f)
    train, held = data['train'], data['heldOut']
    out = {'description': 'bench/combat_reference.py (numpy %s) on combat-input.json' % np.__version__, 'cases': {}}
    for name, covs, ref, eb in CASES:
        fit = combat_fit(train, covs, ref, eb)
        adjust = fit.pop('adjust')
        fit['train'] = adjust(train['values'], train['sites'], train['covariates']).tolist()
        fit['heldOut'] = adjust(held['values'], held['sites'], held['covariates']).tolist()
        out['cases'][name] = {'covariates': covs, 'reference': ref, 'empiricalBayes': eb, **fit}
    path = os.path.join(FIXTURES, 'combat-reference.json')
    with open(path, 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')
    print('wrote', path)


if __name__ == '__main__':
    main()
