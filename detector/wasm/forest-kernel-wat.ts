/**
 * Text (WAT) of the WebAssembly scoring kernel, generated so the unrolled
 * lanes are written once. `build-forest-kernel.ts` compiles it with wabt into
 * `forest-kernel-bytes.ts`; a test recompiles it and fails on any drift.
 *
 * Memory layout the kernel expects (see `wasm-forest.ts`):
 * - Every tree is a complete binary tree of `2^(depth+1) − 1` slots of 16
 *   bytes, children of slot i at 2i+1 and 2i+2. An internal slot holds the
 *   f64 threshold at +0, as an i32 at +8 the split feature's byte offset
 *   in a row group (feature × LANES × 8), and as an i32 at +12 its byte
 *   offset in an attribution vector (feature × 8). A leaf slot holds the
 *   leaf's path length (depth + c(size)) as an f64 at +0.
 * - A range table beside the trees: for tree t, at `ranges + t × 48`, the
 *   f64 low and high ends of the split feature's training range of slots 0,
 *   1 and 2 (the levels the kernel checks), 16 bytes a slot. A slot of a
 *   level the forest does not check, or a padding slot, has (−∞, +∞).
 * - For `rowAttribution`, two attribution tables: per tree, the left and
 *   right credit (f64, f64) of each internal slot, 16 bytes a slot; and the
 *   isolation credit (f64) of slots 0, 1 and 2, 24 bytes a tree; and 8
 *   bytes a tree of room where its walks leave each tree's leaf for the
 *   credit pass.
 * - Rows come in groups of LANES, feature-major inside a group: row j's
 *   feature f is the f64 at `group + (f × LANES + j) × 8`. All lanes of a
 *   group share one base address, which keeps the unrolled walk in registers.
 *
 * A walk goes right when `value >= threshold`, the reference walk's rule, so
 * padding slots with an infinite threshold always go left. At the root and
 * level 1, a value outside the slot's [low, high] isolates the row there:
 * the walk goes on to its leaf (no branch), and the slots it passed at those
 * levels are checked afterwards; the tree then counts depth + 1 from the
 * root instead of the leaf's value, as the reference walk does.
 *
 * SIMD (v128) is used where the rows of a group share work: `blockPaths`
 * takes the range checks and the sums two rows at a time.
 */

/** Rows per group, walked side by side through a tree by `blockPaths`. */
export const LANES = 8;
/**
 * Rows per group of `nodeBlockPaths`: twice `LANES`. Its walks read nodes
 * from L2 rather than L1, and sixteen chains of loads in flight hide that
 * better than eight (at 500 × 10,000, 10–20 % more rows/s than 8 lanes,
 * and no better at 32).
 */
export const NODE_LANES = 16;
/** Trees walked side by side for one row by `rowPaths` and `rowAttribution`. */
export const TREE_LANES = 8;

const lanes = (n: number, f: (j: number) => string): string =>
  Array.from({ length: n }, (_, j) => f(j)).join("\n");

/**
 * One level of descent for one lane: o = 2o + 16 + 16·(value >= threshold),
 * as a `select` of the two children, which V8 compiles to a conditional
 * move on the comparison's flags.
 */
const step = (o: string, tree: string, row: string, laneOffset: number): string => `
      (local.set ${o}
        (select
          (i32.add (local.tee $left (i32.shl (local.get ${o}) (i32.const 1))) (i32.const 32))
          (i32.add (local.get $left) (i32.const 16))
          (f64.ge
            (f64.load offset=${laneOffset}
              (i32.add (local.get ${row}) (i32.load offset=8 (i32.add (local.get ${tree}) (local.get ${o})))))
            (f64.load (i32.add (local.get ${tree}) (local.get ${o}))))))`;

/**
 * One level of descent for one lane whose offset is an address: a = 2a + k
 * + 16·(value >= threshold), with k = 16 − tree, so that a − tree follows
 * `step`'s rule while each load takes a as it is (one add fewer a level).
 * `$left` holds the left child's address for the `select`.
 */
const stepAt = (a: string, k: string, row: string, laneOffset: number): string => `
            (local.set ${a}
              (select
                (i32.add (local.tee $left (i32.add (i32.shl (local.get ${a}) (i32.const 1)) (local.get ${k}))) (i32.const 16))
                (local.get $left)
                (f64.ge
                  (f64.load offset=${laneOffset} (i32.add (local.get ${row}) (i32.load offset=8 (local.get ${a}))))
                  (f64.load (local.get ${a})))))`;

/** A walk of `levels` levels (default all, `$depth`), `$level` counting down to 1. */
const walk = (steps: string, indent: string, levels = "(local.get $depth)"): string => `
${indent}(local.set $level ${levels})
${indent}(block $levelsDone (loop $levels
${indent}  (br_if $levelsDone (i32.eqz (local.get $level)))
${steps}
${indent}  (local.set $level (i32.sub (local.get $level) (i32.const 1)))
${indent}  (br $levels)))`;

/** Levels the kernel can check: the root's and its children's. */
export const MAX_CHECKED_LEVELS = 2;

/**
 * After a lane's walk, the range checks of the root and of the level-1 slot
 * it passed, off the walk's chain of dependent loads:
 * the leaf's heap index h names that slot, s = h >> (depth − 1) − 1. `iso`
 * ends as the path length where the shallowest failed check isolated the
 * row (1 or 2), or 0. The root's feature offset and range come hoisted in
 * the `root` locals and `ranges` points at the tree's range table.
 */
const rangeChecks = (
  o: string,
  iso: string,
  tree: string,
  ranges: string,
  row: string,
  laneOffset: number,
  root: { f: string; lo: string; hi: string },
): string => `
          (local.set $v (f64.load offset=${laneOffset} (i32.add (local.get ${row}) (local.get ${root.f}))))
          (local.set $out0
            (i32.or (f64.lt (local.get $v) (local.get ${root.lo})) (f64.gt (local.get $v) (local.get ${root.hi}))))
          (local.set $a
            (i32.shl
              (i32.sub
                (i32.shr_u (i32.add (i32.shr_u (local.get ${o}) (i32.const 4)) (i32.const 1)) (local.get $depth1))
                (i32.const 1))
              (i32.const 4)))
          (local.set $v
            (f64.load offset=${laneOffset}
              (i32.add (local.get ${row}) (i32.load offset=8 (i32.add (local.get ${tree}) (local.get $a))))))
          (local.set $a (i32.add (local.get ${ranges}) (i32.and (local.get $a) (i32.const 48))))
          (local.set ${iso}
            (select (i32.const 1)
              (select (i32.const 2) (i32.const 0)
                (i32.or
                  (f64.lt (local.get $v) (f64.load (local.get $a)))
                  (f64.gt (local.get $v) (f64.load offset=8 (local.get $a)))))
              (local.get $out0)))`;

/** Loads a tree's root feature offset and range into the given locals. */
const rootOf = (
  tree: string,
  ranges: string,
  root: { f: string; lo: string; hi: string },
): string =>
  `(local.set ${root.f} (i32.load offset=8 (local.get ${tree})))
      (local.set ${root.lo} (f64.load (local.get ${ranges})))
      (local.set ${root.hi} (f64.load offset=8 (local.get ${ranges})))`;

/** Sets `$depth1` (depth − 1). */
const depthLess1 = `
    (local.set $depth1 (i32.sub (local.get $depth) (i32.const 1)))`;

/**
 * A lane's path length once its walk and checks are done: `iso` if a range
 * check isolated it, else the value of the leaf it reached.
 */
const pathOf = (o: string, iso: string, tree: string): string =>
  `(select
              (f64.convert_i32_s (local.get ${iso}))
              (f64.load (i32.add (local.get ${tree}) (local.get ${o})))
              (local.get ${iso}))`;

/**
 * After a lane's walk and range checks: adds its tree's attribution credits
 * to the f64 per feature at `$out`, level by level from the root, as the
 * reference `attributeRow` does (same values, same order). The leaf's heap
 * index h gives the path: with n = h + 1, the turn taken at level l is bit
 * depth − 1 − l of n, so n shifted left by 32 − depth (its leading 1 drops
 * out) holds level 0's turn in bit 31, level 1's in bit 30, and so on.
 * The credit pass goes down that path again by address, as `stepAt` does:
 * `$ta` at the slot's tree entry, `$da` at its credits (`db`, 16 bytes a
 * slot: left, right), each a = 2a + k + 16·turn with k = 16 − base. Each
 * level above the isolating one (all, if none isolated) is credited the
 * slot's left or right delta, to the feature whose byte offset in `$out`
 * (f × 8) the slot holds at +12; an isolating slot (level iso − 1, where the
 * pass stops) is credited its isolation delta (`ib`, 8 bytes a slot).
 */
const attribute = (o: string, iso: string, tree: string, db: string, ib: string): string => `
      (local.set $turns
        (i32.shl
          (i32.add (i32.shr_u (local.get ${o}) (i32.const 4)) (i32.const 1))
          (i32.sub (i32.const 32) (local.get $depth))))
      (local.set $lv (select (i32.sub (local.get ${iso}) (i32.const 1)) (local.get $depth) (local.get ${iso})))
      (local.set $ta (local.get ${tree}))
      (local.set $da (local.get ${db}))
      (local.set $kt (i32.sub (i32.const 16) (local.get ${tree})))
      (local.set $kd (i32.sub (i32.const 16) (local.get ${db})))
      (block $creditsDone (loop $credits
        (br_if $creditsDone (i32.eqz (local.get $lv)))
        (local.set $turn (i32.shr_u (local.get $turns) (i32.const 31)))
        (local.set $oa (i32.add (local.get $out) (i32.load offset=12 (local.get $ta))))
        (f64.store (local.get $oa)
          (f64.add (f64.load (local.get $oa))
            (f64.load (i32.add (local.get $da) (i32.shl (local.get $turn) (i32.const 3))))))
        (local.set $turn (i32.shl (local.get $turn) (i32.const 4)))
        (local.set $ta (i32.add (i32.add (i32.shl (local.get $ta) (i32.const 1)) (local.get $kt)) (local.get $turn)))
        (local.set $da (i32.add (i32.add (i32.shl (local.get $da) (i32.const 1)) (local.get $kd)) (local.get $turn)))
        (local.set $turns (i32.shl (local.get $turns) (i32.const 1)))
        (local.set $lv (i32.sub (local.get $lv) (i32.const 1)))
        (br $credits)))
      (if (local.get ${iso}) (then
        (local.set $oa (i32.add (local.get $out) (i32.load offset=12 (local.get $ta))))
        (f64.store (local.get $oa)
          (f64.add (f64.load (local.get $oa))
            (f64.load
              (i32.add (local.get ${ib}) (i32.shr_u (i32.sub (local.get $ta) (local.get ${tree})) (i32.const 1))))))))`;

/**
 * For rows 2k and 2k + 1 of a group (SIMD lanes 0 and 1), after their walks
 * below the root: the range checks of the root and of the level-1 slot each
 * row passed (slot 1 or 2, by the root's turn), and the tree's path lengths
 * added to their sums at `$dst`: 1 where the root's check isolated the
 * row, else 2 where level 1's did, else the value of the leaf reached
 * (addresses `oa`, `ob`).
 */
const pairSum = (k: number, oa: string, ob: string): string => `
          (local.set $x (v128.load offset=${16 * k} (local.get $rv)))
          (local.set $right (f64x2.ge (local.get $x) (local.get $vthr0)))
          (local.set $out0 (v128.or (f64x2.lt (local.get $x) (local.get $lo0)) (f64x2.gt (local.get $x) (local.get $hi0))))
          (local.set $x (v128.load offset=${16 * k} (i32.add (local.get $rb) (local.get $f1))))
          (local.set $out1 (v128.or (f64x2.lt (local.get $x) (local.get $lo1)) (f64x2.gt (local.get $x) (local.get $hi1))))
          (local.set $x (v128.load offset=${16 * k} (i32.add (local.get $rb) (local.get $f2))))
          (local.set $out1
            (v128.bitselect
              (v128.or (f64x2.lt (local.get $x) (local.get $lo2)) (f64x2.gt (local.get $x) (local.get $hi2)))
              (local.get $out1)
              (local.get $right)))
          (v128.store offset=${16 * k} (local.get $dst)
            (f64x2.add
              (v128.load offset=${16 * k} (local.get $dst))
              (v128.bitselect
                (v128.const f64x2 1 1)
                (v128.bitselect
                  (v128.const f64x2 2 2)
                  (v128.load64_lane 1 (local.get ${ob}) (v128.load64_zero (local.get ${oa})))
                  (local.get $out1))
                (local.get $out0))))`;

/** Locals holding the root's feature offset and range. */
const ROOT = { f: "$rf", lo: "$rlo", hi: "$rhi" };

/**
 * The kernel's WAT source; deterministic.
 * @param width rows per group (LANES unless experimenting).
 */
export function forestKernelWat(width = LANES): string {
  const W = width;
  const T = TREE_LANES;
  return `;; Generated by detector/wasm/forest-kernel-wat.ts; do not edit.
(module
  (memory (export "memory") 1)

  ;; Sums the leaf path lengths of row groups [0, nGroups) over trees
  ;; [0, nTrees) into out (one f64 per row), tree by tree in order. Blocks of
  ;; \`blockGroups\` groups walk a tree before the next, so it stays in cache;
  ;; the ${W} rows of a group walk it side by side, their offsets held as
  ;; addresses. Every row meets the same root and the same two level-1
  ;; slots, so their features, thresholds and ranges are loaded once a tree;
  ;; and a group's rows lie side by side for each feature, so the range
  ;; checks and the sums go two rows at a time in SIMD lanes.
  (func (export "blockPaths")
    (param $nodes i32) (param $treeBytes i32) (param $nTrees i32) (param $depth i32)
    (param $rows i32) (param $groupBytes i32) (param $nGroups i32) (param $out i32) (param $blockGroups i32)
    (param $ranges i32)
    (local $start i32) (local $end i32) (local $t i32) (local $tb i32) (local $rt i32) (local $g i32) (local $level i32)
    (local $rb i32) (local $rv i32) (local $tb16 i32) (local $k16 i32) (local $left i32) (local $dst i32) (local $rf i32) (local $f1 i32) (local $f2 i32) (local $thr0 f64)
    (local $vthr0 v128) (local $lo0 v128) (local $hi0 v128) (local $lo1 v128) (local $hi1 v128)
    (local $lo2 v128) (local $hi2 v128) (local $x v128) (local $right v128) (local $out0 v128) (local $out1 v128)
${lanes(W, (j) => `    (local $o${j} i32)`)}
    (local.set $dst (local.get $out))
    (local.set $end (i32.add (local.get $out) (i32.mul (local.get $nGroups) (i32.const ${W * 8}))))
    (block $zeroed (loop $zero
      (br_if $zeroed (i32.ge_u (local.get $dst) (local.get $end)))
      (f64.store (local.get $dst) (f64.const 0))
      (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
      (br $zero)))
    (local.set $start (i32.const 0))
    (block $blocksDone (loop $blocks
      (br_if $blocksDone (i32.ge_u (local.get $start) (local.get $nGroups)))
      (local.set $end (i32.add (local.get $start) (local.get $blockGroups)))
      (if (i32.gt_u (local.get $end) (local.get $nGroups)) (then (local.set $end (local.get $nGroups))))
      (local.set $t (i32.const 0))
      (local.set $tb (local.get $nodes))
      (local.set $rt (local.get $ranges))
      (block $treesDone (loop $trees
        (br_if $treesDone (i32.ge_u (local.get $t) (local.get $nTrees)))
        (local.set $rf (i32.load offset=8 (local.get $tb)))
        (local.set $f1 (i32.load offset=24 (local.get $tb)))
        (local.set $f2 (i32.load offset=40 (local.get $tb)))
        (local.set $thr0 (f64.load (local.get $tb)))
        (local.set $vthr0 (f64x2.splat (local.get $thr0)))
        (local.set $lo0 (v128.load64_splat (local.get $rt)))
        (local.set $hi0 (v128.load64_splat offset=8 (local.get $rt)))
        (local.set $lo1 (v128.load64_splat offset=16 (local.get $rt)))
        (local.set $hi1 (v128.load64_splat offset=24 (local.get $rt)))
        (local.set $lo2 (v128.load64_splat offset=32 (local.get $rt)))
        (local.set $hi2 (v128.load64_splat offset=40 (local.get $rt)))
        (local.set $tb16 (i32.add (local.get $tb) (i32.const 16)))
        (local.set $k16 (i32.sub (i32.const 16) (local.get $tb)))
        (local.set $g (local.get $start))
        (block $groupsDone (loop $groups
          (br_if $groupsDone (i32.ge_u (local.get $g) (local.get $end)))
          (local.set $rb (i32.add (local.get $rows) (i32.mul (local.get $g) (local.get $groupBytes))))
          (local.set $rv (i32.add (local.get $rb) (local.get $rf)))
${lanes(
  W,
  (j) => `          (local.set $o${j}
            (i32.add (local.get $tb16)
              (i32.shl (f64.ge (f64.load offset=${8 * j} (local.get $rv)) (local.get $thr0)) (i32.const 4))))`,
)}
${walk(
  lanes(W, (j) => stepAt(`$o${j}`, "$k16", "$rb", 8 * j)),
  "          ",
  "(i32.sub (local.get $depth) (i32.const 1))",
)}
          (local.set $dst (i32.add (local.get $out) (i32.mul (local.get $g) (i32.const ${W * 8}))))
${lanes(W / 2, (k) => pairSum(k, `$o${2 * k}`, `$o${2 * k + 1}`))}
          (local.set $g (i32.add (local.get $g) (i32.const 1)))
          (br $groups)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (local.set $tb (i32.add (local.get $tb) (local.get $treeBytes)))
        (local.set $rt (i32.add (local.get $rt) (i32.const 48)))
        (br $trees)))
      (local.set $start (local.get $end))
      (br $blocks)))
  )

${nodeBlockPaths(NODE_LANES)}

${groupRows("groupRows", W)}

${groupRows("groupNodeRows", NODE_LANES)}

  ;; The sum of one row's leaf path lengths over trees [0, nTrees), ${T} trees
  ;; walked side by side and their leaves added in tree order. The row sits
  ;; in lane 0 of a group at \`row\`.
${rowKernel("rowPaths", false)}

  ;; rowPaths, and the row's path attribution added to the f64 per feature
  ;; at \`out\`: each tree's credits (left/right deltas at \`deltas\`,
  ;; \`deltaBytes\` a tree; isolation deltas of slots 0..2 at \`isoDeltas\`,
  ;; 24 bytes a tree) in tree order, as attributeRow adds them, in a pass
  ;; of its own after the walks, which leave each tree's leaf at \`leaves\`.
${rowKernel("rowAttribution", true)}
)
`;
}

/**
 * A one-row function: `rowPaths`, or with `attribution` `rowAttribution`,
 * which after each tree's walk and checks also credits its path.
 */
function rowKernel(name: string, attribution: boolean): string {
  const T = TREE_LANES;
  // rowAttribution keeps each tree's leaf offset and isolating level (i32,
  // i32 at \`leaves\` + 8t) and credits the paths after the walks, so the
  // walks keep no more values live than rowPaths' do.
  const keep = (o: string, iso: string, at: number): string =>
    attribution
      ? `
      (i32.store offset=${8 * at} (local.get $lp) (local.get ${o}))
      (i32.store offset=${8 * at + 4} (local.get $lp) (local.get ${iso}))`
      : "";
  const next = (trees: number): string =>
    attribution ? `\n      (local.set $lp (i32.add (local.get $lp) (i32.const ${8 * trees})))` : "";
  const credits = attribution
    ? `
    (local.set $t (i32.const 0))
    (local.set $tb (local.get $nodes))
    (local.set $db (local.get $deltas))
    (local.set $ib (local.get $isoDeltas))
    (local.set $lp (local.get $leaves))
    (block $treesCredited (loop $creditTrees
      (br_if $treesCredited (i32.ge_u (local.get $t) (local.get $nTrees)))
      (local.set $o (i32.load (local.get $lp)))
      (local.set $iso (i32.load offset=4 (local.get $lp)))${attribute("$o", "$iso", "$tb", "$db", "$ib")}
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (local.set $tb (i32.add (local.get $tb) (local.get $treeBytes)))
      (local.set $db (i32.add (local.get $db) (local.get $deltaBytes)))
      (local.set $ib (i32.add (local.get $ib) (i32.const 24)))
      (local.set $lp (i32.add (local.get $lp) (i32.const 8)))
      (br $creditTrees)))`
    : "";
  return `  (func (export "${name}")
    (param $nodes i32) (param $treeBytes i32) (param $nTrees i32) (param $depth i32) (param $row i32)
    (param $ranges i32)${
      attribution
        ? `
    (param $deltas i32) (param $deltaBytes i32) (param $isoDeltas i32) (param $out i32) (param $leaves i32)`
        : ""
    }
    (result f64)
    (local $sum f64) (local $t i32) (local $level i32) (local $o i32) (local $tb i32) (local $rt i32)
    (local $iso i32) (local $a i32) (local $v f64) (local $out0 i32) (local $left i32)
    (local $depth1 i32) (local $rf i32) (local $rlo f64) (local $rhi f64)${
      attribution
        ? `
    (local $turns i32) (local $turn i32) (local $lv i32) (local $ta i32) (local $da i32) (local $kt i32) (local $kd i32)
    (local $oa i32) (local $db i32) (local $ib i32) (local $lp i32)`
        : ""
    }
${lanes(T, (j) => `    (local $o${j} i32) (local $tb${j} i32) (local $iso${j} i32)`)}${depthLess1}
    (local.set $tb (local.get $nodes))${attribution ? "\n    (local.set $lp (local.get $leaves))" : ""}
    (block $wideDone (loop $wide
      (br_if $wideDone (i32.gt_u (i32.add (local.get $t) (i32.const ${T})) (local.get $nTrees)))
      (local.set $tb0 (local.get $tb))
${lanes(T - 1, (j) => `      (local.set $tb${j + 1} (i32.add (local.get $tb${j}) (local.get $treeBytes)))`)}
${lanes(T, (j) => `      (local.set $o${j} (i32.const 0))`)}
${walk(
  lanes(T, (j) => step(`$o${j}`, `$tb${j}`, "$row", 0)),
  "      ",
)}
      (local.set $rt (i32.add (local.get $ranges) (i32.mul (local.get $t) (i32.const 48))))
${lanes(
  T,
  (
    j,
  ) => `      ${rootOf(`$tb${j}`, "$rt", ROOT)}${rangeChecks(`$o${j}`, `$iso${j}`, `$tb${j}`, "$rt", "$row", 0, ROOT)}
      (local.set $rt (i32.add (local.get $rt) (i32.const 48)))`,
)}
${lanes(T, (j) => `      (local.set $sum (f64.add (local.get $sum) ${pathOf(`$o${j}`, `$iso${j}`, `$tb${j}`)}))${keep(`$o${j}`, `$iso${j}`, j)}`)}${next(T)}
      (local.set $t (i32.add (local.get $t) (i32.const ${T})))
      (local.set $tb (i32.add (local.get $tb${T - 1}) (local.get $treeBytes)))
      (br $wide)))
    (block $restDone (loop $rest
      (br_if $restDone (i32.ge_u (local.get $t) (local.get $nTrees)))
      (local.set $o (i32.const 0))
${walk(step("$o", "$tb", "$row", 0), "      ")}
      (local.set $rt (i32.add (local.get $ranges) (i32.mul (local.get $t) (i32.const 48))))
      ${rootOf("$tb", "$rt", ROOT)}${rangeChecks("$o", "$iso", "$tb", "$rt", "$row", 0, ROOT)}
      (local.set $sum (f64.add (local.get $sum) ${pathOf("$o", "$iso", "$tb")}))${keep("$o", "$iso", 0)}${next(1)}
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (local.set $tb (i32.add (local.get $tb) (local.get $treeBytes)))
      (br $rest)))${credits}
    (local.get $sum)
  )`;
}

/**
 * One level of descent through a node array: a = left + 16·(value >= threshold),
 * `left` being the left child's address (i32 at +12; right = left + 16). A
 * leaf points at itself with a NaN threshold, which no value passes.
 */
const stepNode = (a: string, row: string, laneOffset: number): string => `
            (local.set ${a}
              (select
                (i32.add (local.tee $left (i32.load offset=12 (local.get ${a}))) (i32.const 16))
                (local.get $left)
                (f64.ge
                  (f64.load offset=${laneOffset} (i32.add (local.get ${row}) (i32.load offset=8 (local.get ${a}))))
                  (f64.load (local.get ${a})))))`;

/**
 * `nodeBlockPaths`: `blockPaths` for trees laid out as arrays of their real
 * nodes (`detector/node-forest.ts`), for forests too deep for complete trees.
 * A node is 16 bytes (f64 threshold, i32 feature offset, i32 left child's
 * address); each tree's nodes are breadth first from the address in the i32
 * table at `trees`, so the root's children sit at +16 and +32, where the
 * complete layout has them too, and the range checks are blockPaths' own.
 * The path length of the leaf at address a is the f64 at `values + a / 2`
 * (nodes start at address 0).
 */
function nodeBlockPaths(W: number): string {
  return `  ;; blockPaths on node arrays: trees of any shape up to \`depth\` levels,
  ;; their base addresses in the i32 table at \`trees\`, leaf values at
  ;; \`values\` + node address / 2.
  (func (export "nodeBlockPaths")
    (param $trees i32) (param $nTrees i32) (param $depth i32)
    (param $rows i32) (param $groupBytes i32) (param $nGroups i32) (param $out i32) (param $blockGroups i32)
    (param $ranges i32) (param $values i32)
    (local $start i32) (local $end i32) (local $t i32) (local $tb i32) (local $rt i32) (local $g i32) (local $level i32)
    (local $rb i32) (local $rv i32) (local $tb16 i32) (local $left i32) (local $dst i32) (local $rf i32) (local $f1 i32) (local $f2 i32) (local $thr0 f64)
    (local $vthr0 v128) (local $lo0 v128) (local $hi0 v128) (local $lo1 v128) (local $hi1 v128)
    (local $lo2 v128) (local $hi2 v128) (local $x v128) (local $right v128) (local $out0 v128) (local $out1 v128)
${lanes(W, (j) => `    (local $o${j} i32)`)}
    (local $moved i32) (local $was i32)
    (local.set $dst (local.get $out))
    (local.set $end (i32.add (local.get $out) (i32.mul (local.get $nGroups) (i32.const ${W * 8}))))
    (block $zeroed (loop $zero
      (br_if $zeroed (i32.ge_u (local.get $dst) (local.get $end)))
      (f64.store (local.get $dst) (f64.const 0))
      (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
      (br $zero)))
    (local.set $start (i32.const 0))
    (block $blocksDone (loop $blocks
      (br_if $blocksDone (i32.ge_u (local.get $start) (local.get $nGroups)))
      (local.set $end (i32.add (local.get $start) (local.get $blockGroups)))
      (if (i32.gt_u (local.get $end) (local.get $nGroups)) (then (local.set $end (local.get $nGroups))))
      (local.set $t (i32.const 0))
      (local.set $rt (local.get $ranges))
      (block $treesDone (loop $trees
        (br_if $treesDone (i32.ge_u (local.get $t) (local.get $nTrees)))
        (local.set $tb (i32.load (i32.add (local.get $trees) (i32.shl (local.get $t) (i32.const 2)))))
        (local.set $rf (i32.load offset=8 (local.get $tb)))
        (local.set $f1 (i32.load offset=24 (local.get $tb)))
        (local.set $f2 (i32.load offset=40 (local.get $tb)))
        (local.set $thr0 (f64.load (local.get $tb)))
        (local.set $vthr0 (f64x2.splat (local.get $thr0)))
        (local.set $lo0 (v128.load64_splat (local.get $rt)))
        (local.set $hi0 (v128.load64_splat offset=8 (local.get $rt)))
        (local.set $lo1 (v128.load64_splat offset=16 (local.get $rt)))
        (local.set $hi1 (v128.load64_splat offset=24 (local.get $rt)))
        (local.set $lo2 (v128.load64_splat offset=32 (local.get $rt)))
        (local.set $hi2 (v128.load64_splat offset=40 (local.get $rt)))
        (local.set $tb16 (i32.add (local.get $tb) (i32.const 16)))
        (local.set $g (local.get $start))
        (block $groupsDone (loop $groups
          (br_if $groupsDone (i32.ge_u (local.get $g) (local.get $end)))
          (local.set $rb (i32.add (local.get $rows) (i32.mul (local.get $g) (local.get $groupBytes))))
          (local.set $rv (i32.add (local.get $rb) (local.get $rf)))
${lanes(
  W,
  (j) => `          (local.set $o${j}
            (i32.add (local.get $tb16)
              (i32.shl (f64.ge (f64.load offset=${8 * j} (local.get $rv)) (local.get $thr0)) (i32.const 4))))`,
)}
${walkUntilLeaves(W)}
${lanes(W, (j) => `          (local.set $o${j} (i32.add (local.get $values) (i32.shr_u (local.get $o${j}) (i32.const 1))))`)}
          (local.set $dst (i32.add (local.get $out) (i32.mul (local.get $g) (i32.const ${W * 8}))))
${lanes(W / 2, (k) => pairSum(k, `$o${2 * k}`, `$o${2 * k + 1}`))}
          (local.set $g (i32.add (local.get $g) (i32.const 1)))
          (br $groups)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (local.set $rt (i32.add (local.get $rt) (i32.const 48)))
        (br $trees)))
      (local.set $start (local.get $end))
      (br $blocks)))
  )`;
}

/**
 * The walk of `nodeBlockPaths`: up to depth − 1 levels below the root, and
 * no further once a level moved no lane (every lane sits on a leaf, which
 * points at itself): rows of a group that end at shallow leaves, as in
 * data with many duplicate rows, stop early. A lane that moves goes to a
 * child, numbered after its parent, so the lanes' address sum grows while
 * any lane moves and stays put once none does.
 */
const walkUntilLeaves = (W: number): string => `
          (local.set $level (i32.sub (local.get $depth) (i32.const 1)))
          (local.set $was (i32.const -1))
          (block $levelsDone (loop $levels
            (br_if $levelsDone (i32.eqz (local.get $level)))
${lanes(W, (j) => stepNode(`$o${j}`, "$rb", 8 * j))}
            (local.set $moved ${Array.from({ length: W - 1 }, () => "(i32.add ").join("")}(local.get $o0)${Array.from({ length: W - 1 }, (_, j) => ` (local.get $o${j + 1}))`).join("")})
            (br_if $levelsDone (i32.eq (local.get $moved) (local.get $was)))
            (local.set $was (local.get $moved))
            (local.set $level (i32.sub (local.get $level) (i32.const 1)))
            (br $levels)))`;

/**
 * `name`: copies nRows row-major rows into groups of W, the layout the walks
 * read (row j of a group has feature f at group + (f × W + j) × 8).
 */
function groupRows(name: string, W: number): string {
  return `  ;; Copies nRows row-major rows of nf f64 each at \`src\` into groups of ${W}
  ;; at \`dst\`, the layout blockPaths reads: row j of a group has feature f
  ;; at group + (f × ${W} + j) × 8. Lanes past the last row keep what they held.
  (func (export "${name}") (param $src i32) (param $nRows i32) (param $nf i32) (param $dst i32)
    (local $rowBytes i32) (local $g i32) (local $p i32) (local $end i32) (local $d i32) (local $r i32) (local $f i32)
${lanes(W - 1, (j) => `    (local $at${j + 1} i32)`)}
    (local.set $rowBytes (i32.shl (local.get $nf) (i32.const 3)))
${lanes(W - 1, (j) => `    (local.set $at${j + 1} (i32.mul (local.get $rowBytes) (i32.const ${j + 1})))`)}
    (block $fullDone (loop $full
      (br_if $fullDone (i32.gt_u (i32.add (local.get $g) (i32.const ${W})) (local.get $nRows)))
      (local.set $p (i32.add (local.get $src) (i32.mul (local.get $g) (local.get $rowBytes))))
      (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $g) (local.get $rowBytes))))
      (local.set $end (i32.add (local.get $p) (local.get $rowBytes)))
      (block $featuresDone (loop $features
        (br_if $featuresDone (i32.ge_u (local.get $p) (local.get $end)))
        (f64.store (local.get $d) (f64.load (local.get $p)))
${lanes(W - 1, (j) => `        (f64.store offset=${8 * (j + 1)} (local.get $d) (f64.load (i32.add (local.get $p) (local.get $at${j + 1}))))`)}
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (local.set $d (i32.add (local.get $d) (i32.const ${W * 8})))
        (br $features)))
      (local.set $g (i32.add (local.get $g) (i32.const ${W})))
      (br $full)))
    (local.set $r (local.get $g))
    (block $restDone (loop $rest
      (br_if $restDone (i32.ge_u (local.get $r) (local.get $nRows)))
      (local.set $p (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $rowBytes))))
      (local.set $d
        (i32.add (local.get $dst)
          (i32.add (i32.mul (local.get $g) (local.get $rowBytes))
            (i32.shl (i32.sub (local.get $r) (local.get $g)) (i32.const 3)))))
      (local.set $f (i32.const 0))
      (block $restFeaturesDone (loop $restFeatures
        (br_if $restFeaturesDone (i32.ge_u (local.get $f) (local.get $nf)))
        (f64.store (local.get $d) (f64.load (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (local.set $d (i32.add (local.get $d) (i32.const ${W * 8})))
        (local.set $f (i32.add (local.get $f) (i32.const 1)))
        (br $restFeatures)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rest)))
  )`;
}
