#include "compiler/backend/llvm/Segments.hpp"

#include <fmt/format.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <numeric>

#include "support/InternalError.hpp"

namespace nfc {

std::string segment_name(const std::string& entry, size_t s) {
  return fmt::format("{}.part{}", entry, s);
}

std::vector<llvm::Function*> segment_functions(llvm::Module& module, const std::string& entry) {
  std::vector<llvm::Function*> out;
  for (size_t s = 0;; ++s) {
    llvm::Function* f = module.getFunction(segment_name(entry, s));
    if (f == nullptr) return out;
    out.push_back(f);
  }
}

void keep_partition(llvm::Module& module, const std::string& entry, int index, int count) {
  internal_check(count >= 1 && index >= 0 && index < count, "jit: no such partition");
  llvm::Function* entry_function = module.getFunction(entry);
  internal_check(entry_function != nullptr, "jit: partitioning a module without its entry");
  const std::vector<llvm::Function*> segments = segment_functions(module, entry);
  std::vector<size_t> by_size(segments.size());
  std::iota(by_size.begin(), by_size.end(), size_t{0});
  std::stable_sort(by_size.begin(), by_size.end(), [&](size_t a, size_t b) {
    return segments[a]->getInstructionCount() > segments[b]->getInstructionCount();
  });
  std::vector<size_t> load(static_cast<size_t>(count), 0);
  load[0] = entry_function->getInstructionCount();
  for (size_t s : by_size) {
    const size_t lightest = size_t(std::min_element(load.begin(), load.end()) - load.begin());
    load[lightest] += segments[s]->getInstructionCount();
    segments[s]->setLinkage(llvm::GlobalValue::ExternalLinkage);
    if (lightest != static_cast<size_t>(index)) segments[s]->deleteBody();
  }
  if (index != 0) entry_function->deleteBody();
}

}  // namespace nfc
