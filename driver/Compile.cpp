// The driver: the pipeline run to analysis or to machine code, and the
// runtime Flow over the result.
#include "driver/Compile.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <type_traits>

#include "driver/Pipeline.hpp"
#include "runtime/DataError.hpp"
#include "support/InternalError.hpp"

namespace nfc {

std::unique_ptr<CompiledModel> analyze_model(std::string_view source, Diagnostics& diags) {
  return run_pipeline(source, diags, PipelineOptions{});
}

std::unique_ptr<CompiledModel> compile_model(std::string_view source, Diagnostics& diags,
                                             const JitOptions& options,
                                             std::optional<TargetSelection> target) {
  return run_pipeline(source, diags, PipelineOptions{options, {}, std::move(target)});
}

TargetSelection parse_target_selection(const std::string& spec, const std::string& model_path) {
  TargetSelection sel;
  const size_t nf = spec.find(".nf");
  const bool in_file = nf != std::string::npos && (nf + 3 == spec.size() || spec[nf + 3] == ':');
  if (!in_file) {
    sel.name = spec;
    sel.data_dir = std::filesystem::path(model_path).parent_path().string();
    return sel;
  }
  sel.file_name = spec.substr(0, nf + 3);
  if (nf + 3 < spec.size()) sel.name = spec.substr(nf + 4);
  std::ifstream in(sel.file_name, std::ios::binary);
  if (!in) throw DataError("cannot open '" + sel.file_name + "': " + std::strerror(errno));
  sel.file_source = std::string(std::istreambuf_iterator<char>(in), {});
  sel.data_dir = std::filesystem::path(sel.file_name).parent_path().string();
  return sel;
}

Support flow_support(const FlowGraph& fg) {
  Support support;
  for (const Interval& c : fg.support) support.push_back({c.lo, c.hi, c.lo_open, c.hi_open});
  return support;
}

template <class T>
Flow<T> make_flow(const CompiledModel& model) {
  constexpr Precision wanted = std::is_same_v<T, float> ? Precision::f32 : Precision::f64;
  internal_check(model.jit != nullptr, "make_flow needs a compiled model");
  internal_check(model.precision == wanted, "make_flow: precision does not match the model");
  // The entry points by their ABI names and types (abi/EntryPoints.hpp).
  auto bind = [&]<class Fn>(const char* name, Fn& fn, bool required = true) {
    fn = reinterpret_cast<Fn>(required ? model.jit->lookup(name) : model.jit->find(name));
  };
  const FlowGraph& fg = *model.graph;
  EntryPoints<T> entries;
  bind(abi::kForward, entries.forward);
  bind(abi::kInverse, entries.inverse);
  bind(abi::kLogProb, entries.log_prob);
  bind(abi::kNllGrad, entries.nll_grad);
  entries.gradient_workspace = model.jit->workspace_bytes(abi::kNllGrad);
  bind(abi::kLogProbSmall, entries.log_prob_small, false);
  entries.small_batch = model.jit->small_batch_rows();
  if (!fg.actnorms.empty()) bind(abi::kActNormInputs, entries.actnorm_inputs);
  if (fg.kl >= 0) {
    bind(abi::kTargetLogProb, entries.target_log_prob);
    bind(abi::kKlGrad, entries.kl_grad);
    entries.kl_workspace = model.jit->workspace_bytes(abi::kKlGrad);
  }
  // The graph's parameter table and the spec's base are the runtime's types.
  Flow<T> flow(fg.name, fg.dim, fg.graph.params(), entries, model.jit, fg.base, fg.context_dim);
  std::vector<ActNormSlot> slots;
  for (const ActNormTensors& a : fg.actnorms)
    slots.push_back(
        {fg.graph.params()[size_t(a.log_scale)].offset, fg.graph.params()[size_t(a.shift)].offset});
  flow.set_actnorm_layers(std::move(slots));
  flow.set_support(flow_support(fg));
  flow.set_format(fg.format);
  return flow;
}

template Flow<float> make_flow<float>(const CompiledModel&);
template Flow<double> make_flow<double>(const CompiledModel&);

}  // namespace nfc
