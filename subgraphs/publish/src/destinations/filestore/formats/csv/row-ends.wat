;; Row ends in CSV bytes, for scan.ts: a row ends at an LF outside quotes (an
;; escaped quote `""` toggles the state twice, so the parity of the quotes before
;; a byte is all that matters). WebAssembly with SIMD: sixteen bytes at a time,
;; their quotes and LFs as bit masks, the quote parity of every byte by a prefix
;; XOR of the quote mask. row-ends-wasm.ts holds this module compiled
;; (`npm run build:wasm`).
;;
;; Memory: the bytes at [0, n), with 16 readable bytes after them.
;;
;; find(n, from, rowStart, rowsLeft, cutAt, inQuotes) scans from `from`, inside
;; quotes or not, and stops after the first row end that is the `rowsLeft`th it
;; sees or lies at or after `cutAt` (the position just after its LF); it answers
;; that position, or -1 when the bytes end first. `rowStart` is where the row
;; being scanned started (negative: in earlier bytes). Then the globals hold:
;;   found    the row ends seen (the one stopped at included);
;;   longest  the longest of the rows they end, its line end included;
;;   quoted   1 when the scan ended inside quotes (never at a stop);
;;   lastEnd  the position after the last row end seen (rowStart when none).
(module
  (memory (export "memory") 1 65536)
  (global $found (export "found") (mut i32) (i32.const 0))
  (global $longest (export "longest") (mut i32) (i32.const 0))
  (global $quoted (export "quoted") (mut i32) (i32.const 0))
  (global $lastEnd (export "lastEnd") (mut i32) (i32.const 0))

  (func (export "find") (param $n i32) (param $from i32) (param $rowStart i32) (param $rowsLeft i32) (param $cutAt i32) (param $inQuotes i32) (result i32)
    (local $b i32) (local $v v128) (local $q i32) (local $lf i32) (local $x i32) (local $ends i32)
    (local $valid i32) (local $pos i32) (local $found i32) (local $longest i32) (local $len i32)
    (local.set $b (local.get $from))
    (block $out
      (loop $block
        (br_if $out (i32.ge_s (local.get $b) (local.get $n)))
        (local.set $v (v128.load (local.get $b)))
        ;; The bytes of this block that are in [0, n).
        (local.set $valid (select
          (i32.const 0xffff)
          (i32.sub (i32.shl (i32.const 1) (i32.sub (local.get $n) (local.get $b))) (i32.const 1))
          (i32.ge_s (i32.sub (local.get $n) (local.get $b)) (i32.const 16))))
        (local.set $q (i32.and (local.get $valid)
          (i8x16.bitmask (i8x16.eq (local.get $v) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34)))))
        (local.set $lf (i32.and (local.get $valid)
          (i8x16.bitmask (i8x16.eq (local.get $v) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10)))))
        ;; Bit i of x: inside quotes at byte i (the parity of the quotes at or before it).
        (local.set $x (local.get $q))
        (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 1))))
        (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 2))))
        (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 4))))
        (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 8))))
        (if (local.get $inQuotes) (then (local.set $x (i32.xor (local.get $x) (i32.const 0xffff)))))
        (local.set $ends (i32.and (local.get $lf) (i32.xor (local.get $x) (i32.const 0xffff))))
        (local.set $inQuotes (i32.xor (local.get $inQuotes) (i32.and (i32.popcnt (local.get $q)) (i32.const 1))))
        (block $noMore
          (loop $end
            (br_if $noMore (i32.eqz (local.get $ends)))
            (local.set $pos (i32.add (i32.add (local.get $b) (i32.ctz (local.get $ends))) (i32.const 1)))
            (local.set $found (i32.add (local.get $found) (i32.const 1)))
            (local.set $len (i32.sub (local.get $pos) (local.get $rowStart)))
            (if (i32.gt_s (local.get $len) (local.get $longest)) (then (local.set $longest (local.get $len))))
            (local.set $rowStart (local.get $pos))
            (if (i32.or (i32.ge_s (local.get $found) (local.get $rowsLeft)) (i32.ge_s (local.get $pos) (local.get $cutAt)))
              (then
                (global.set $found (local.get $found))
                (global.set $longest (local.get $longest))
                (global.set $quoted (i32.const 0))
                (global.set $lastEnd (local.get $pos))
                (return (local.get $pos))))
            (local.set $ends (i32.and (local.get $ends) (i32.sub (local.get $ends) (i32.const 1))))
            (br $end)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (br $block)))
    (global.set $found (local.get $found))
    (global.set $longest (local.get $longest))
    (global.set $quoted (local.get $inQuotes))
    (global.set $lastEnd (local.get $rowStart))
    (i32.const -1))
)
