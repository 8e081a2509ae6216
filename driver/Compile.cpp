// The driver: the pipeline run to analysis or to machine code, and the
// runtime Flow over the result.
#include "driver/Compile.hpp"

#include <type_traits>

#include "driver/Pipeline.hpp"
#include "support/InternalError.hpp"

namespace nfc {

namespace {

// The runtime's view of the base: the same settings, no graph.
BaseSettings base_settings(const BaseSpec& b) {
  BaseSettings s;
  switch (b.kind) {
    case BaseDistribution::standard_normal:
      s.kind = BaseKind::standard_normal;
      break;
    case BaseDistribution::diag_normal:
      s.kind = BaseKind::diag_normal;
      break;
    case BaseDistribution::uniform:
      s.kind = BaseKind::uniform;
      break;
    case BaseDistribution::mixture:
      s.kind = BaseKind::mixture;
      break;
    case BaseDistribution::student_t:
      s.kind = BaseKind::student_t;
      break;
  }
  s.low = b.low;
  s.high = b.high;
  s.components = b.components;
  s.df = b.df;
  return s;
}

}  // namespace

std::unique_ptr<CompiledModel> analyze_model(std::string_view source, Diagnostics& diags) {
  return run_pipeline(source, diags, PipelineOptions{});
}

std::unique_ptr<CompiledModel> compile_model(std::string_view source, Diagnostics& diags,
                                             const JitOptions& options) {
  return run_pipeline(source, diags, PipelineOptions{options, {}});
}

std::vector<ParamInfo> param_table(const Graph& g) {
  std::vector<ParamInfo> table;
  for (const ParamTensor& p : g.params())
    table.push_back({p.name, p.shape, p.offset, p.size, p.init_bound, p.init, p.row_lengths});
  return table;
}

template <class T>
Flow<T> make_flow(const CompiledModel& model) {
  constexpr Precision wanted = std::is_same_v<T, float> ? Precision::f32 : Precision::f64;
  internal_check(model.jit != nullptr, "make_flow needs a compiled model");
  internal_check(model.precision == wanted, "make_flow: precision does not match the model");
  EntryPoints<T> entries;
  entries.forward = reinterpret_cast<typename EntryPoints<T>::Map>(model.jit->lookup("forward"));
  entries.inverse = reinterpret_cast<typename EntryPoints<T>::Map>(model.jit->lookup("inverse"));
  entries.log_prob =
      reinterpret_cast<typename EntryPoints<T>::Density>(model.jit->lookup("log_prob"));
  entries.nll_grad =
      reinterpret_cast<typename EntryPoints<T>::Gradient>(model.jit->lookup("nll_grad"));
  entries.gradient_workspace = model.jit->workspace_bytes("nll_grad");
  entries.log_prob_small =
      reinterpret_cast<typename EntryPoints<T>::Density>(model.jit->find("log_prob.small"));
  entries.small_batch = kSmallBatchRows;
  const FlowGraph& fg = *model.graph;
  if (!fg.actnorms.empty())
    entries.actnorm_inputs =
        reinterpret_cast<typename EntryPoints<T>::Density>(model.jit->lookup("actnorm_inputs"));
  Flow<T> flow(fg.name, fg.dim, param_table(fg.graph), entries, model.jit, base_settings(fg.base),
               fg.context_dim);
  std::vector<ActNormSlot> slots;
  for (const ActNormTensors& a : fg.actnorms)
    slots.push_back(
        {fg.graph.params()[size_t(a.log_scale)].offset, fg.graph.params()[size_t(a.shift)].offset});
  flow.set_actnorm_layers(std::move(slots));
  return flow;
}

template Flow<float> make_flow<float>(const CompiledModel&);
template Flow<double> make_flow<double>(const CompiledModel&);

}  // namespace nfc
