// The segments of an entry point (FunctionLowering::emit_segment: a large
// entry point's order cut into functions of their own) by name, and their
// partition across modules: a 100-layer stack's gradient is one module of
// ~100,000 instructions, whose O2 alone outlasted every other entry point's
// together, so its segments are compiled on several threads, in modules that
// link (Jit.cpp).
#pragma once

#include <string>
#include <vector>

namespace llvm {
class Function;
class Module;
}  // namespace llvm

namespace nfc {

// The function of segment `s` of entry point `entry`.
std::string segment_name(const std::string& entry, size_t s);

// The segment functions of `entry` in `module`, in segment order.
std::vector<llvm::Function*> segment_functions(llvm::Module& module, const std::string& entry);

// Reduces `module`, a whole lowered entry point, to partition `index` of
// `count`: the segments are dealt out largest first, each to the partition
// with the fewest instructions so far (partition 0 starts with the entry
// point), and made external so that the partitions link; the other
// partitions' segment bodies are deleted, and the entry point's outside
// partition 0. Every partition is cut from the same lowering, so each
// module computes the same deal. Helpers stay internal: each partition
// keeps its own copy of those it calls (O2 drops the rest).
void keep_partition(llvm::Module& module, const std::string& entry, int index, int count);

}  // namespace nfc
