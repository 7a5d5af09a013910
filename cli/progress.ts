/**
 * Progress reporting for long work: a bar with ETA on a terminal, plain periodic lines otherwise
 * (CI logs, pipes). Library code takes an `onProgress(done, total)` callback; the CLI adapts it here.
 */
import cliProgress from 'cli-progress';

export type ProgressCallback = (done: number, total: number, detail?: string) => void;

export interface ProgressBar {
  update: ProgressCallback;
  stop(): void;
}

export function createProgressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  if (!stream.isTTY) {
    let lastPrint = 0;
    const start = Date.now();
    return {
      update(done, total, detail) {
        const now = Date.now();
        if (done < total && now - lastPrint < 2000) return;
        lastPrint = now;
        const elapsed = (now - start) / 1000;
        const eta = done > 0 ? (elapsed / done) * (total - done) : Number.NaN;
        const etaText = Number.isFinite(eta) ? ` eta ${eta.toFixed(0)}s` : '';
        stream.write(`${label}: ${done}/${total}${etaText}${detail ? ` ${detail}` : ''}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} {detail}`, stream, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, detail) {
      if (!started) {
        bar.start(total, done, { detail: detail ?? '' });
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done, { detail: detail ?? '' });
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
