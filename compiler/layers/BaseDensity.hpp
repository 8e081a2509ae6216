// The base density log q(z) in the graph, so that reverse mode gives the
// gradients of the learnable base parameters (diag_normal, mixture) like
// those of any layer. Formulas and tensor names: docs/language.md, "Base
// distributions"; the runtime samples the same distributions
// (runtime/BaseSampler).
#pragma once

#include <optional>

#include "compiler/ir/Graph.hpp"
#include "compiler/sema/FlowSpec.hpp"

namespace nfc {

class BaseDensity {
 public:
  // Declares the base's tensors (`base.mean`, ...), if it has any.
  BaseDensity(Graph& g, const BaseSettings& spec, int dim);

  // log q(z) for z of length dim: a length-1 node.
  NodeId log_density(NodeId z) const;

  // A draw z of the base as a differentiable function of its noise: for
  // diag_normal z = mean + exp(log_scale) * eps with eps ~ N(0, I) (the
  // reparameterisation trick); the bases without learnable tensors are
  // drawn directly (z = eps). Null for a mixture, whose component choice
  // has no gradient.
  std::optional<NodeId> reparameterize(NodeId eps) const;

 private:
  NodeId normal(NodeId z) const;
  NodeId diag_normal(NodeId z) const;
  NodeId uniform(NodeId z) const;
  NodeId mixture(NodeId z) const;
  NodeId student_t(NodeId z) const;

  Graph& g_;
  BaseSettings spec_;
  int dim_;
  NodeId mean_ = -1, log_scale_ = -1;                  // diag_normal, [dim]
  NodeId logits_ = -1, means_ = -1, log_scales_ = -1;  // mixture: [K], [K, dim], [K, dim]
};

// The spread of the mixture's initial means: uniform in +-kMixtureMeanSpread,
// drawn from the flow's init seed like every tensor without fixed values.
inline constexpr double kMixtureMeanSpread = 2;

}  // namespace nfc
