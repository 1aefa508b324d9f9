;; The converting loop of copy-text.ts: PostgreSQL's COPY text rows into the
;; canonical CSV rows that file specifies, byte for byte. WebAssembly with SIMD:
;; bytes that need no change are found and copied sixteen at a time (about four
;; times the speed of the same loop in JavaScript, docs/performance.md).
;; copy-text-wasm.ts holds this module compiled (`npm run build:wasm`).
;;
;; Memory, laid out by the caller:
;;   [0, columns)  each column's kind: 0 plain, 1 boolean, 2 timestamp,
;;                 3 timestamptz, 4 time with time zone (copy-text.ts, KIND_CODE);
;;   the input     complete rows (it ends with LF), with 16 readable bytes after it;
;;   the output    room for 3 * n + 16 bytes (a 1-byte boolean field and its
;;                 delimiter become up to 6 bytes: `false,`).
;;
;; convert(in, n, out, columns) answers the output's length, or an error code:
;;   -1 bytes other than a field's end after \N;  -2 the input ends inside an
;;   escape;  -3 a row with another number of fields than `columns`.
;; The global `rows` then holds the number of rows converted.
(module
  (memory (export "memory") 1 65536)
  (global $rows (export "rows") (mut i32) (i32.const 0))

;; The byte a backslash escape of COPY text stands for: \b \f \n \r \t \v, else the byte itself.
  (func $unescape (param $b i32) (result i32)
    (if (i32.eq (local.get $b) (i32.const 110)) (then (return (i32.const 10))))
    (if (i32.eq (local.get $b) (i32.const 116)) (then (return (i32.const 9))))
    (if (i32.eq (local.get $b) (i32.const 114)) (then (return (i32.const 13))))
    (if (i32.eq (local.get $b) (i32.const 98)) (then (return (i32.const 8))))
    (if (i32.eq (local.get $b) (i32.const 102)) (then (return (i32.const 12))))
    (if (i32.eq (local.get $b) (i32.const 118)) (then (return (i32.const 11))))
    (local.get $b))

  (func $isDigit (param $b i32) (result i32)
    (i32.lt_u (i32.sub (local.get $b) (i32.const 48)) (i32.const 10)))

  ;; Rewrites out[start, end) into its canonical form in place; answers the new end.
  (func $canonical (param $start i32) (param $end i32) (param $kind i32) (result i32)
    (local $s i32) (local $at i32) (local $bc i32) (local $sign i32)
    ;; boolean: t -> true, anything else -> false
    (if (i32.eq (local.get $kind) (i32.const 1))
      (then
        (if (i32.eq (i32.load8_u (local.get $start)) (i32.const 116))
          (then
            (i32.store (local.get $start) (i32.const 0x65757274)) ;; "true"
            (return (i32.add (local.get $start) (i32.const 4)))))
        (i32.store (local.get $start) (i32.const 0x736c6166)) ;; "fals"
        (i32.store8 (i32.add (local.get $start) (i32.const 4)) (i32.const 101)) ;; "e"
        (return (i32.add (local.get $start) (i32.const 5)))))
    ;; timestamp, timestamptz: the first space becomes T
    (if (i32.or (i32.eq (local.get $kind) (i32.const 2)) (i32.eq (local.get $kind) (i32.const 3)))
      (then
        (local.set $s (i32.add (local.get $start) (i32.const 10)))
        (if (i32.eqz (i32.and
              (i32.lt_u (local.get $s) (local.get $end))
              (i32.eq (i32.load8_u (local.get $s)) (i32.const 32))))
          (then
            (local.set $s (local.get $start))
            (block $found
              (loop $scan
                (br_if $found (i32.ge_u (local.get $s) (local.get $end)))
                (br_if $found (i32.eq (i32.load8_u (local.get $s)) (i32.const 32)))
                (local.set $s (i32.add (local.get $s) (i32.const 1)))
                (br $scan)))))
        (if (i32.lt_u (local.get $s) (local.get $end))
          (then (i32.store8 (local.get $s) (i32.const 84))))
        (if (i32.eq (local.get $kind) (i32.const 3))
          (then
            ;; ...+00 or ...+00 BC -> ...+00:00 / ...+00:00 BC
            (local.set $bc (i32.and
              (i32.gt_u (i32.sub (local.get $end) (local.get $start)) (i32.const 3))
              (i32.and
                (i32.eq (i32.load8_u (i32.sub (local.get $end) (i32.const 3))) (i32.const 32))
                (i32.eq (i32.load16_u (i32.sub (local.get $end) (i32.const 2))) (i32.const 0x4342))))) ;; "BC"
            (local.set $at (select (i32.sub (local.get $end) (i32.const 3)) (local.get $end) (local.get $bc)))
            (if (i32.and
                  (i32.ge_u (i32.sub (local.get $at) (local.get $start)) (i32.const 3))
                  (i32.and
                    (i32.eq (i32.load8_u (i32.sub (local.get $at) (i32.const 3))) (i32.const 43))
                    (i32.and
                      (call $isDigit (i32.load8_u (i32.sub (local.get $at) (i32.const 2))))
                      (call $isDigit (i32.load8_u (i32.sub (local.get $at) (i32.const 1)))))))
              (then
                (if (local.get $bc)
                  (then (memory.copy (i32.add (local.get $at) (i32.const 3)) (local.get $at) (i32.const 3))))
                (i32.store16 (local.get $at) (i32.const 0x303a)) ;; ":0"
                (i32.store8 (i32.add (local.get $at) (i32.const 2)) (i32.const 48))
                (return (i32.add (local.get $end) (i32.const 3)))))))
        (return (local.get $end))))
    ;; time with time zone: a whole-hour offset +HH / -HH at the end -> +HH:00
    (if (i32.eq (local.get $kind) (i32.const 4))
      (then
        (local.set $sign (i32.load8_u (i32.sub (local.get $end) (i32.const 3))))
        (if (i32.and
              (i32.ge_u (i32.sub (local.get $end) (local.get $start)) (i32.const 3))
              (i32.and
                (i32.or (i32.eq (local.get $sign) (i32.const 43)) (i32.eq (local.get $sign) (i32.const 45)))
                (i32.and
                  (call $isDigit (i32.load8_u (i32.sub (local.get $end) (i32.const 2))))
                  (call $isDigit (i32.load8_u (i32.sub (local.get $end) (i32.const 1)))))))
          (then
            (i32.store16 (local.get $end) (i32.const 0x303a))
            (i32.store8 (i32.add (local.get $end) (i32.const 2)) (i32.const 48))
            (return (i32.add (local.get $end) (i32.const 3)))))))
    (local.get $end))

  (func (export "convert") (param $in i32) (param $n i32) (param $out i32) (param $columns i32) (result i32)
    (local $i i32) (local $end i32) (local $p i32) (local $col i32) (local $last i32)
    (local $kind i32) (local $fieldStart i32) (local $quoted i32) (local $escaped i32)
    (local $byte i32) (local $v v128) (local $m i32) (local $len i32) (local $rows i32) (local $null i32)
    (local.set $i (local.get $in))
    (local.set $end (i32.add (local.get $in) (local.get $n)))
    (local.set $p (local.get $out))
    (local.set $last (i32.sub (local.get $columns) (i32.const 1)))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $col (i32.const 0))
        (loop $field
          (if (local.get $col)
            (then
              (i32.store8 (local.get $p) (i32.const 44))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))))
          (local.set $kind (i32.load8_u (local.get $col)))
          (local.set $fieldStart (local.get $p))
          (local.set $quoted (i32.const 0))
          (local.set $escaped (i32.const 0))
          (local.set $null (i32.const 0))
          (block $fieldEnd
            ;; NULL: \N and nothing else; an empty unquoted field.
            (if (i32.eq (i32.load16_u (local.get $i)) (i32.const 0x4e5c)) ;; "\N"
              (then
                (local.set $i (i32.add (local.get $i) (i32.const 2)))
                (local.set $byte (i32.load8_u (local.get $i)))
                (if (i32.and (i32.ne (local.get $byte) (i32.const 9)) (i32.ne (local.get $byte) (i32.const 10)))
                  (then (return (i32.const -1))))
                (local.set $null (i32.const 1))
                (br $fieldEnd)))
            (loop $content
              ;; Bytes of no class are copied sixteen at a time, up to the next one of a class.
              (block $special
                (loop $run
                  (local.set $v (v128.load (local.get $i)))
                  (local.set $m (i8x16.bitmask
                    (v128.or
                      (v128.or
                        (i8x16.eq (local.get $v) (v128.const i8x16 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9))
                        (i8x16.eq (local.get $v) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10)))
                      (v128.or
                        (v128.or
                          (i8x16.eq (local.get $v) (v128.const i8x16 92 92 92 92 92 92 92 92 92 92 92 92 92 92 92 92))
                          (i8x16.eq (local.get $v) (v128.const i8x16 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44 44)))
                        (i8x16.eq (local.get $v) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34))))))
                  (v128.store (local.get $p) (local.get $v))
                  (br_if $special (local.get $m))
                  (local.set $i (i32.add (local.get $i) (i32.const 16)))
                  (local.set $p (i32.add (local.get $p) (i32.const 16)))
                  (br $run)))
              (local.set $m (i32.ctz (local.get $m)))
              (local.set $i (i32.add (local.get $i) (local.get $m)))
              (local.set $p (i32.add (local.get $p) (local.get $m)))
              (local.set $byte (i32.load8_u (local.get $i)))
              (br_if $fieldEnd (i32.or (i32.eq (local.get $byte) (i32.const 9)) (i32.eq (local.get $byte) (i32.const 10))))
              (if (i32.eq (local.get $byte) (i32.const 92))
                (then
                  ;; An escape: the byte it stands for (an unknown one: the byte after the backslash).
                  (local.set $escaped (i32.const 1))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (if (i32.ge_u (local.get $i) (i32.sub (local.get $end) (i32.const 1)))
                    (then (return (i32.const -2))))
                  (local.set $byte (call $unescape (i32.load8_u (local.get $i))))))
              ;; A byte that needs quoting: comma, quote, CR, LF.
              (if (i32.and
                    (i32.eqz (local.get $quoted))
                    (i32.or
                      (i32.or (i32.eq (local.get $byte) (i32.const 44)) (i32.eq (local.get $byte) (i32.const 34)))
                      (i32.or (i32.eq (local.get $byte) (i32.const 10)) (i32.eq (local.get $byte) (i32.const 13)))))
                (then
                  (memory.copy
                    (i32.add (local.get $fieldStart) (i32.const 1))
                    (local.get $fieldStart)
                    (i32.sub (local.get $p) (local.get $fieldStart)))
                  (i32.store8 (local.get $fieldStart) (i32.const 34))
                  (local.set $p (i32.add (local.get $p) (i32.const 1)))
                  (local.set $quoted (i32.const 1))))
              (i32.store8 (local.get $p) (local.get $byte))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (if (i32.eq (local.get $byte) (i32.const 34))
                (then
                  (i32.store8 (local.get $p) (i32.const 34))
                  (local.set $p (i32.add (local.get $p) (i32.const 1)))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $content))
          ) ;; $fieldEnd: i is at the tab or LF that ends the field
          (local.set $byte (i32.load8_u (local.get $i)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (if (i32.ne (i32.eq (local.get $byte) (i32.const 10)) (i32.eq (local.get $col) (local.get $last)))
            (then (return (i32.const -3))))
          (local.set $len (i32.sub (local.get $p) (local.get $fieldStart)))
          (block $written
            (if (local.get $quoted)
              (then
                (i32.store8 (local.get $p) (i32.const 34))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $written)))
            ;; NULL stays empty; the empty string is "".
            (br_if $written (local.get $null))
            (if (i32.eqz (local.get $len))
              (then
                (i32.store16 (local.get $p) (i32.const 0x2222))
                (local.set $p (i32.add (local.get $p) (i32.const 2)))
                (br $written)))
            (if (local.get $escaped)
              (then
                ;; A lone \. in a one-column row would end COPY input: COPY quotes it.
                (if (i32.and
                      (i32.and (i32.eqz (local.get $last)) (i32.eq (local.get $len) (i32.const 2)))
                      (i32.eq (i32.load16_u (local.get $fieldStart)) (i32.const 0x2e5c))) ;; "\."
                  (then
                    (i32.store8 (local.get $fieldStart) (i32.const 34))
                    (i32.store16 offset=1 (local.get $fieldStart) (i32.const 0x2e5c))
                    (i32.store8 offset=3 (local.get $fieldStart) (i32.const 34))
                    (local.set $p (i32.add (local.get $p) (i32.const 2)))))
                (br $written)))
            (if (local.get $kind)
              (then (local.set $p (call $canonical (local.get $fieldStart) (local.get $p) (local.get $kind))))))
          (local.set $col (i32.add (local.get $col) (i32.const 1)))
          (br_if $field (i32.le_u (local.get $col) (local.get $last))))
        (i32.store8 (local.get $p) (i32.const 10))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $rows (i32.add (local.get $rows) (i32.const 1)))
        (br $row)))
    (global.set $rows (local.get $rows))
    (i32.sub (local.get $p) (local.get $out)))
)
