;; voxshift's elementwise/reduction kernels in WebAssembly SIMD, run directly on the tfjs wasm heap
;; (the module imports that memory; `simd-runtime.ts` compiles this text with wabt and instantiates it
;; on the main thread and in its worker threads). Pointers are byte addresses; every channel count `c`
;; is a multiple of 4 and every array is 16-byte aligned except where the caller says otherwise.
;; The memory import line is rewritten to a non-shared memory when the heap is not shared (1 thread).
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; dst (f64[n]) += acc (f32[n]); acc := 0.
  (func $flush (param $acc i32) (param $dst i32) (param $n i32)
    (local $end i32) (local $v v128)
    (local.set $end (i32.add (local.get $acc) (i32.shl (local.get $n) (i32.const 2))))
    (loop $l
      (local.set $v (v128.load (local.get $acc)))
      (v128.store (local.get $dst)
        (f64x2.add (v128.load (local.get $dst)) (f64x2.promote_low_f32x4 (local.get $v))))
      (v128.store offset=16 (local.get $dst)
        (f64x2.add (v128.load offset=16 (local.get $dst))
          (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
      (v128.store (local.get $acc) (v128.const i32x4 0 0 0 0))
      (local.set $acc (i32.add (local.get $acc) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
      (br_if $l (i32.lt_u (local.get $acc) (local.get $end)))))

  ;; Per-channel sums over the n pixels (channels-last rows of c values) of a sample:
  ;;   sum1[k] += Σ (u − su[k]),  sum2[k] += Σ (u − su[k])·(v − sv[k])
  ;; accumulated in float32 over blocks of 64 pixels (acc: f32[2c], zero on entry and on return) and
  ;; in float64 across blocks (sum1, sum2: f64[c]).
  (func (export "moments")
    (param $u i32) (param $v i32) (param $su i32) (param $sv i32) (param $c i32)
    (param $n i32) (param $acc i32) (param $sum1 i32) (param $sum2 i32)
    (local $p i32) (local $row i32) (local $k i32) (local $pu i32) (local $pv i32) (local $a i32)
    (local $blockEnd i32) (local $du v128)
    (local.set $row (i32.shl (local.get $c) (i32.const 2)))
    (if (i32.eqz (local.get $n)) (then (return)))
    (loop $blocks
      (local.set $blockEnd (i32.add (local.get $p) (i32.const 64)))
      (if (i32.gt_u (local.get $blockEnd) (local.get $n)) (then (local.set $blockEnd (local.get $n))))
      (loop $pixels
        (local.set $pu (i32.add (local.get $u) (i32.mul (local.get $p) (local.get $row))))
        (local.set $pv (i32.add (local.get $v) (i32.mul (local.get $p) (local.get $row))))
        (local.set $k (i32.const 0))
        (loop $chan
          (local.set $du
            (f32x4.sub (v128.load (i32.add (local.get $pu) (local.get $k))) (v128.load (i32.add (local.get $su) (local.get $k)))))
          (local.set $a (i32.add (local.get $acc) (local.get $k)))
          (v128.store (local.get $a) (f32x4.add (v128.load (local.get $a)) (local.get $du)))
          (local.set $a (i32.add (local.get $a) (local.get $row)))
          (v128.store (local.get $a)
            (f32x4.add (v128.load (local.get $a))
              (f32x4.mul (local.get $du)
                (f32x4.sub (v128.load (i32.add (local.get $pv) (local.get $k))) (v128.load (i32.add (local.get $sv) (local.get $k)))))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br_if $chan (i32.lt_u (local.get $k) (local.get $row))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br_if $pixels (i32.lt_u (local.get $p) (local.get $blockEnd))))
      (call $flush (local.get $acc) (local.get $sum1) (local.get $c))
      (call $flush (i32.add (local.get $acc) (local.get $row)) (local.get $sum2) (local.get $c))
      (br_if $blocks (i32.lt_u (local.get $p) (local.get $n)))))

  ;; y = ((x − s[k]) − d[k]) · r[k] over n pixels: with s a value of the channel (its first
  ;; pixel) and d = μ − s, x − s is exact for x near s, so μ ≫ σ costs no precision.
  (func (export "normalize")
    (param $x i32) (param $y i32) (param $s i32) (param $d i32) (param $r i32) (param $c i32) (param $n i32)
    (local $row i32) (local $k i32) (local $i i32) (local $end i32)
    (local.set $row (i32.shl (local.get $c) (i32.const 2)))
    (if (i32.eqz (local.get $n)) (then (return)))
    (local.set $end (i32.mul (local.get $n) (local.get $row)))
    (loop $pixels
      (local.set $k (i32.const 0))
      (loop $chan
        (v128.store (i32.add (local.get $y) (i32.add (local.get $i) (local.get $k)))
          (f32x4.mul
            (f32x4.sub
              (f32x4.sub (v128.load (i32.add (local.get $x) (i32.add (local.get $i) (local.get $k)))) (v128.load (i32.add (local.get $s) (local.get $k))))
              (v128.load (i32.add (local.get $d) (local.get $k))))
            (v128.load (i32.add (local.get $r) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br_if $chan (i32.lt_u (local.get $k) (local.get $row))))
      (local.set $i (i32.add (local.get $i) (local.get $row)))
      (br_if $pixels (i32.lt_u (local.get $i) (local.get $end)))))

  ;; out = u·a[k] + v·b[k] + d[k] over n pixels.
  (func (export "combine")
    (param $u i32) (param $v i32) (param $out i32) (param $a i32) (param $b i32) (param $d i32)
    (param $c i32) (param $n i32)
    (local $row i32) (local $k i32) (local $i i32) (local $end i32)
    (local.set $row (i32.shl (local.get $c) (i32.const 2)))
    (if (i32.eqz (local.get $n)) (then (return)))
    (local.set $end (i32.mul (local.get $n) (local.get $row)))
    (loop $pixels
      (local.set $k (i32.const 0))
      (loop $chan
        (v128.store (i32.add (local.get $out) (i32.add (local.get $i) (local.get $k)))
          (f32x4.add
            (f32x4.add
              (f32x4.mul (v128.load (i32.add (local.get $u) (i32.add (local.get $i) (local.get $k)))) (v128.load (i32.add (local.get $a) (local.get $k))))
              (f32x4.mul (v128.load (i32.add (local.get $v) (i32.add (local.get $i) (local.get $k)))) (v128.load (i32.add (local.get $b) (local.get $k)))))
            (v128.load (i32.add (local.get $d) (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br_if $chan (i32.lt_u (local.get $k) (local.get $row))))
      (local.set $i (i32.add (local.get $i) (local.get $row)))
      (br_if $pixels (i32.lt_u (local.get $i) (local.get $end)))))

  ;; One Adam step over n elements (any alignment; the tail after the last full vector is scalar):
  ;;   m′ = β1·m + (1−β1)·g,  v′ = β2·v + (1−β2)·g²,  p′ = p − stepSize · m′ / (√v′ · invSqrtBc2 + ε)
  (func (export "adam")
    (param $p i32) (param $m i32) (param $v i32) (param $g i32)
    (param $po i32) (param $mo i32) (param $vo i32) (param $n i32)
    (param $beta1 f32) (param $beta2 f32) (param $stepSize f32) (param $invSqrtBc2 f32) (param $eps f32)
    (local $off i32) (local $end i32) (local $vecEnd i32)
    (local $b1 v128) (local $c1 v128) (local $b2 v128) (local $c2 v128) (local $st v128) (local $ib v128) (local $ep v128)
    (local $gv v128) (local $mv v128) (local $vv v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $b1 (f32x4.splat (local.get $beta1)))
    (local.set $c1 (f32x4.splat (f32.sub (f32.const 1) (local.get $beta1))))
    (local.set $b2 (f32x4.splat (local.get $beta2)))
    (local.set $c2 (f32x4.splat (f32.sub (f32.const 1) (local.get $beta2))))
    (local.set $st (f32x4.splat (local.get $stepSize)))
    (local.set $ib (f32x4.splat (local.get $invSqrtBc2)))
    (local.set $ep (f32x4.splat (local.get $eps)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (block $vecDone
      (br_if $vecDone (i32.ge_u (local.get $off) (local.get $vecEnd)))
      (loop $vec
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $off))))
        (local.set $mv (f32x4.add (f32x4.mul (local.get $b1) (v128.load (i32.add (local.get $m) (local.get $off))))
                                  (f32x4.mul (local.get $c1) (local.get $gv))))
        (local.set $vv (f32x4.add (f32x4.mul (local.get $b2) (v128.load (i32.add (local.get $v) (local.get $off))))
                                  (f32x4.mul (local.get $c2) (f32x4.mul (local.get $gv) (local.get $gv)))))
        (v128.store (i32.add (local.get $mo) (local.get $off)) (local.get $mv))
        (v128.store (i32.add (local.get $vo) (local.get $off)) (local.get $vv))
        (v128.store (i32.add (local.get $po) (local.get $off))
          (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $off)))
            (f32x4.div (f32x4.mul (local.get $st) (local.get $mv))
              (f32x4.add (f32x4.mul (f32x4.sqrt (local.get $vv)) (local.get $ib)) (local.get $ep)))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br_if $vec (i32.lt_u (local.get $off) (local.get $vecEnd)))))
    (block $done
      (br_if $done (i32.ge_u (local.get $off) (local.get $end)))
      (loop $tail
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $off))))
        (local.set $ms (f32.add (f32.mul (local.get $beta1) (f32.load (i32.add (local.get $m) (local.get $off))))
                                (f32.mul (f32.sub (f32.const 1) (local.get $beta1)) (local.get $gs))))
        (local.set $vs (f32.add (f32.mul (local.get $beta2) (f32.load (i32.add (local.get $v) (local.get $off))))
                                (f32.mul (f32.sub (f32.const 1) (local.get $beta2)) (f32.mul (local.get $gs) (local.get $gs)))))
        (f32.store (i32.add (local.get $mo) (local.get $off)) (local.get $ms))
        (f32.store (i32.add (local.get $vo) (local.get $off)) (local.get $vs))
        (f32.store (i32.add (local.get $po) (local.get $off))
          (f32.sub (f32.load (i32.add (local.get $p) (local.get $off)))
            (f32.div (f32.mul (local.get $stepSize) (local.get $ms))
              (f32.add (f32.mul (f32.sqrt (local.get $vs)) (local.get $invSqrtBc2)) (local.get $eps)))))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (br_if $tail (i32.lt_u (local.get $off) (local.get $end))))))
  ;; y = (x < 0 ? alpha·x : x) + 0 over elements [0, n): tfjs's leaky ReLU, and with alpha = 0 its
  ;; ReLU (max(0, x)); NaN stays NaN, and adding +0 turns the −0 of alpha·x into +0.
  (func (export "leaky")
    (param $x i32) (param $y i32) (param $n i32) (param $alpha f32)
    (local $off i32) (local $end i32) (local $vecEnd i32) (local $a v128) (local $v v128) (local $s f32)
    (local.set $a (f32x4.splat (local.get $alpha)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (block $vecDone
      (br_if $vecDone (i32.eqz (local.get $vecEnd)))
      (loop $vec
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $off))))
        (v128.store (i32.add (local.get $y) (local.get $off))
          (f32x4.add
            (v128.bitselect (f32x4.mul (local.get $v) (local.get $a)) (local.get $v)
              (f32x4.lt (local.get $v) (v128.const f32x4 0 0 0 0)))
            (v128.const f32x4 0 0 0 0)))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br_if $vec (i32.lt_u (local.get $off) (local.get $vecEnd)))))
    (block $done
      (br_if $done (i32.ge_u (local.get $off) (local.get $end)))
      (loop $tail
        (local.set $s (f32.load (i32.add (local.get $x) (local.get $off))))
        (f32.store (i32.add (local.get $y) (local.get $off))
          (f32.add (select (f32.mul (local.get $s) (local.get $alpha)) (local.get $s) (f32.lt (local.get $s) (f32.const 0)))
            (f32.const 0)))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (br_if $tail (i32.lt_u (local.get $off) (local.get $end))))))

  ;; dx = x > 0 ? dy : alpha·dy over [0, n): the (leaky) ReLU gradient. Where x is NaN: NaN when
  ;; $nanOut is 1 (as tfjs-core's ReLU gradient, dy·step(x)), alpha·dy when 0 (as its leaky ReLU's).
  (func (export "leaky_grad")
    (param $x i32) (param $dy i32) (param $dx i32) (param $n i32) (param $alpha f32) (param $nanOut i32)
    (local $off i32) (local $end i32) (local $vecEnd i32) (local $a v128) (local $v v128) (local $g v128)
    (local $pos v128) (local $keep v128) (local $s f32) (local $t f32)
    (local.set $a (f32x4.splat (local.get $alpha)))
    ;; all ones: never the NaN branch
    (local.set $keep (i32x4.splat (i32.sub (i32.const 0) (i32.eqz (local.get $nanOut)))))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (block $vecDone
      (br_if $vecDone (i32.eqz (local.get $vecEnd)))
      (loop $vec
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $off))))
        (local.set $g (v128.load (i32.add (local.get $dy) (local.get $off))))
        (local.set $pos (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0)))
        (v128.store (i32.add (local.get $dx) (local.get $off))
          (v128.bitselect
            (v128.bitselect (local.get $g) (f32x4.mul (local.get $g) (local.get $a)) (local.get $pos))
            (f32x4.mul (local.get $g) (local.get $v))
            (v128.or (local.get $keep) (v128.or (local.get $pos) (f32x4.le (local.get $v) (v128.const f32x4 0 0 0 0))))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br_if $vec (i32.lt_u (local.get $off) (local.get $vecEnd)))))
    (block $done
      (br_if $done (i32.ge_u (local.get $off) (local.get $end)))
      (loop $tail
        (local.set $s (f32.load (i32.add (local.get $x) (local.get $off))))
        (local.set $t (f32.load (i32.add (local.get $dy) (local.get $off))))
        (f32.store (i32.add (local.get $dx) (local.get $off))
          (select (local.get $t)
            (select (f32.mul (local.get $t) (local.get $alpha)) (f32.mul (local.get $t) (local.get $s))
              (i32.or (i32.eqz (local.get $nanOut)) (f32.le (local.get $s) (f32.const 0))))
            (f32.gt (local.get $s) (f32.const 0))))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (br_if $tail (i32.lt_u (local.get $off) (local.get $end))))))
  ;; The gradient of a mirror padding, one sample: dx (d·h·w rows of c values) := 0, then every row of
  ;; dy (dp·hp·wp rows) added onto the row it was copied from, x[mapD[z], mapH[y], mapX[x]] (i32 maps).
  (func (export "mirror_fold")
    (param $dy i32) (param $dx i32) (param $c i32) (param $h i32) (param $w i32) (param $d i32)
    (param $dp i32) (param $hp i32) (param $wp i32) (param $mapD i32) (param $mapH i32) (param $mapW i32)
    (local $row i32) (local $vec i32) (local $z i32) (local $y i32) (local $x i32)
    (local $src i32) (local $dst i32) (local $k i32) (local $plane i32)
    (local.set $row (i32.shl (local.get $c) (i32.const 2)))
    (local.set $vec (i32.and (local.get $row) (i32.const -16)))
    (memory.fill (local.get $dx) (i32.const 0) (i32.mul (local.get $row) (i32.mul (local.get $d) (i32.mul (local.get $h) (local.get $w)))))
    (local.set $src (local.get $dy))
    (local.set $z (i32.const 0))
    (loop $zs
      (local.set $plane (i32.mul (i32.load (i32.add (local.get $mapD) (i32.shl (local.get $z) (i32.const 2)))) (local.get $h)))
      (local.set $y (i32.const 0))
      (loop $ys
        (local.set $x (i32.const 0))
        (loop $xs
          (local.set $dst (i32.add (local.get $dx) (i32.mul (local.get $row)
            (i32.add (i32.mul (i32.add (local.get $plane) (i32.load (i32.add (local.get $mapH) (i32.shl (local.get $y) (i32.const 2))))) (local.get $w))
              (i32.load (i32.add (local.get $mapW) (i32.shl (local.get $x) (i32.const 2))))))))
          (local.set $k (i32.const 0))
          (block $vecDone
            (br_if $vecDone (i32.eqz (local.get $vec)))
            (loop $v
              (v128.store (i32.add (local.get $dst) (local.get $k))
                (f32x4.add (v128.load (i32.add (local.get $dst) (local.get $k))) (v128.load (i32.add (local.get $src) (local.get $k)))))
              (local.set $k (i32.add (local.get $k) (i32.const 16)))
              (br_if $v (i32.lt_u (local.get $k) (local.get $vec)))))
          (block $tailDone
            (br_if $tailDone (i32.ge_u (local.get $k) (local.get $row)))
            (loop $t
              (f32.store (i32.add (local.get $dst) (local.get $k))
                (f32.add (f32.load (i32.add (local.get $dst) (local.get $k))) (f32.load (i32.add (local.get $src) (local.get $k)))))
              (local.set $k (i32.add (local.get $k) (i32.const 4)))
              (br_if $t (i32.lt_u (local.get $k) (local.get $row)))))
          (local.set $src (i32.add (local.get $src) (local.get $row)))
          (local.set $x (i32.add (local.get $x) (i32.const 1)))
          (br_if $xs (i32.lt_u (local.get $x) (local.get $wp))))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br_if $ys (i32.lt_u (local.get $y) (local.get $hp))))
      (local.set $z (i32.add (local.get $z) (i32.const 1)))
      (br_if $zs (i32.lt_u (local.get $z) (local.get $dp)))))

  ;; out = a + b over elements [0, n).
  (func (export "add")
    (param $a i32) (param $b i32) (param $out i32) (param $n i32)
    (local $off i32) (local $end i32) (local $vecEnd i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.and (local.get $end) (i32.const -16)))
    (block $vecDone
      (br_if $vecDone (i32.eqz (local.get $vecEnd)))
      (loop $vec
        (v128.store (i32.add (local.get $out) (local.get $off))
          (f32x4.add (v128.load (i32.add (local.get $a) (local.get $off))) (v128.load (i32.add (local.get $b) (local.get $off)))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br_if $vec (i32.lt_u (local.get $off) (local.get $vecEnd)))))
    (block $done
      (br_if $done (i32.ge_u (local.get $off) (local.get $end)))
      (loop $tail
        (f32.store (i32.add (local.get $out) (local.get $off))
          (f32.add (f32.load (i32.add (local.get $a) (local.get $off))) (f32.load (i32.add (local.get $b) (local.get $off)))))
        (local.set $off (i32.add (local.get $off) (i32.const 4)))
        (br_if $tail (i32.lt_u (local.get $off) (local.get $end))))))
)
