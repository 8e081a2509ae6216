// Building a hand-written map: lower the outputs, find the triangular
// order, judge monotonicity, and derive the inverse output by output.
#include "compiler/layers/MapLayer.hpp"

#include <fmt/format.h>

#include "compiler/analysis/Derive.hpp"
#include "compiler/analysis/Domain.hpp"
#include "compiler/analysis/Interval.hpp"
#include "compiler/analysis/Invert.hpp"
#include "compiler/analysis/ParamRanges.hpp"
#include "compiler/analysis/SignChange.hpp"
#include "compiler/ir/Print.hpp"
#include "compiler/layers/Params.hpp"

namespace nfc {

namespace {

using Deps = std::vector<std::vector<bool>>;  // deps[j][i]: z_j uses x_i

// Outputs in an order where each uses only inputs already placed (Kahn's
// algorithm, smallest index first, so the natural order wins when it works).
std::optional<std::vector<int>> triangular_order(const Deps& deps) {
  const int n = static_cast<int>(deps.size());
  std::vector<int> order;
  std::vector<bool> placed(size_t(n), false);
  while (static_cast<int>(order.size()) < n) {
    int next = -1;
    for (int j = 0; j < n && next < 0; ++j) {
      if (placed[size_t(j)]) continue;
      bool ready = true;
      for (int i = 0; i < n; ++i)
        ready &= i == j || !deps[size_t(j)][size_t(i)] || placed[size_t(i)];
      if (ready) next = j;
    }
    if (next < 0) return std::nullopt;
    placed[size_t(next)] = true;
    order.push_back(next);
  }
  return order;
}

// A cycle among the unplaceable outputs, as (output, input it depends on)
// pairs: z0 depends on x1, z1 depends on x0.
std::vector<std::pair<int, int>> cycle_of(const Deps& deps) {
  const int n = static_cast<int>(deps.size());
  std::vector<int> next(size_t(n), -1);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n && next[size_t(j)] < 0; ++i)
      if (i != j && deps[size_t(j)][size_t(i)]) next[size_t(j)] = i;
  // Walk from an output that has a dependency until a node repeats.
  int at = 0;
  while (at < n && next[size_t(at)] < 0) ++at;
  std::vector<int> seen(size_t(n), -1);
  std::vector<int> path;
  while (at >= 0 && seen[size_t(at)] < 0) {
    seen[size_t(at)] = static_cast<int>(path.size());
    path.push_back(at);
    at = next[size_t(at)];
  }
  std::vector<std::pair<int, int>> cycle;
  for (size_t k = at >= 0 ? size_t(seen[size_t(at)]) : 0; k < path.size(); ++k)
    cycle.push_back({path[k], next[size_t(path[k])]});
  return cycle;
}

// "x0 in (0, inf), x2 in (-1, 1)": the restricted inputs; empty if none.
std::string domain_text(const std::vector<NodeId>& vars, const DomainInference& domain) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < vars.size(); ++i)
    if (const auto it = domain.of_var.find(vars[i]); it != domain.of_var.end())
      parts.push_back(describe_domain(fmt::format("x{}", i), it->second));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// A map defined nowhere is an error; one whose domain is no box nfc can
// state (log(x1 - x0)) a warning at the first output that needs it.
bool report_domain_problems(LayerEnv& env, const MapSpec& m, const std::vector<NodeId>& outputs,
                            const std::vector<NodeId>& vars, const DomainInference& domain) {
  auto first_output_using = [&](NodeId node) {
    size_t j = 0;
    while (j + 1 < outputs.size() && !depends_on(env.g, outputs[j], node)) ++j;
    return j;
  };
  auto input_name = [&](NodeId var) {
    size_t i = 0;
    while (i + 1 < vars.size() && vars[i] != var) ++i;
    return fmt::format("x{}", i);
  };
  if (domain.empty >= 0) {
    env.diags.error(m.output_locs[first_output_using(domain.empty)],
                    fmt::format("the map is defined for no value of {}: the domains of its "
                                "functions do not overlap",
                                input_name(domain.empty)));
    return false;
  }
  if (domain.undetermined >= 0) {
    env.domain_known = false;
    const Node& n = env.g.node(domain.undetermined);
    const size_t j = first_output_using(domain.undetermined);
    env.diags.warning(m.output_locs[j],
                      fmt::format("cannot tell where z{} is defined: the argument of {}, {}, may "
                                  "leave {}; inputs there give NaN",
                                  j, op_spelling(n.op), to_infix(env.g, n.args[0]),
                                  to_string(op_domain(env.g, n))));
  }
  return true;
}

}  // namespace

std::optional<BuiltLayer> build_layer(LayerEnv& layer_env, const MapSpec& m) {
  Graph& g = layer_env.g;
  Diagnostics& diags = layer_env.diags;
  const int dim = layer_env.flow.dim;
  const int layer_index = layer_env.index;
  NameEnv env = layer_env.flow_params;
  for (const ParamDecl& p : m.params)
    env[p.name] = declare_param(g, p, layer_env.param_prefix() + p.name);
  std::vector<NodeId> vars;
  for (int i = 0; i < dim; ++i) {
    const std::string name = "x" + std::to_string(i);
    vars.push_back(g.var(g.add_var_name(name)));
    env[name] = vars.back();
  }
  for (const LetBinding& let : m.lets) env[let.name] = lower_expr(g, *let.expr, env);
  std::vector<NodeId> outputs;
  for (const ExprPtr& e : m.outputs) outputs.push_back(lower_expr(g, *e, env));

  Deps deps(static_cast<size_t>(dim), std::vector<bool>(static_cast<size_t>(dim)));
  for (int j = 0; j < dim; ++j)
    for (int i = 0; i < dim; ++i)
      deps[size_t(j)][size_t(i)] = depends_on(g, outputs[size_t(j)], vars[size_t(i)]);
  // The inputs other than x_j that z_j reads.
  auto other_inputs = [&](int j) {
    std::vector<NodeId> others;
    for (int i = 0; i < dim; ++i)
      if (i != j && deps[size_t(j)][size_t(i)]) others.push_back(vars[size_t(i)]);
    return others;
  };
  for (int j = 0; j < dim; ++j)
    if (!deps[size_t(j)][size_t(j)]) {
      diags.error(m.output_locs[size_t(j)],
                  fmt::format("layer is not invertible: z{0} does not depend on x{0}", j));
      return std::nullopt;
    }
  const auto order = triangular_order(deps);
  if (!order) {
    // "... any order: z0 depends on x2, z2 depends on x0", as one format
    // string for its first link (the message docs quote).
    const auto cycle = cycle_of(deps);
    std::string more;
    for (size_t k = 1; k < cycle.size(); ++k)
      more += fmt::format(", z{} depends on x{}", cycle[k].first, cycle[k].second);
    diags.error(m.output_locs[0],
                fmt::format("layer is not triangular in any order: z{} depends on x{}{}",
                            cycle[0].first, cycle[0].second, more));
    return std::nullopt;
  }
  std::vector<int> natural(static_cast<size_t>(dim));
  for (int j = 0; j < dim; ++j) natural[size_t(j)] = j;
  if (*order != natural) {
    std::vector<std::string> names;
    for (int j : *order) names.push_back("z" + std::to_string(j));
    diags.note(m.output_locs[size_t((*order)[0])],
               fmt::format("the map is triangular in the order {} (each output uses only the "
                           "inputs of outputs before it); it is inverted in that order",
                           fmt::join(names, ", ")));
  }

  // Where the formulas are defined: the map is a bijection from there, and
  // its monotonicity is proved there.
  const DomainInference domain = infer_domain(g, outputs);
  if (!report_domain_problems(layer_env, m, outputs, vars, domain)) return std::nullopt;

  // The diagonal, its monotonicity, and each output's inverse in x_j with
  // the other inputs held as placeholders (bound when the inverse is built).
  std::vector<NodeId> logabs, solutions, targets;
  bool ok = true;
  for (int j = 0; j < dim; ++j) {
    const NodeId d = derivative(g, outputs[size_t(j)], vars[size_t(j)]);
    logabs.push_back(g.unary(Op::log, g.unary(Op::abs, d)));
    InversionReport report;
    report.what = fmt::format("layer {} z{}", layer_index, j);
    report.loc = m.output_locs[size_t(j)];
    report.monotonicity = monotonicity(g, d, domain.of_var);
    if (report.monotonicity == Monotonicity::unproved) {
      const RangedProof held = prove_keeping_ranges(g, d, domain.of_var);
      if (held.verdict != Monotonicity::unproved) {
        report.monotonicity = held.verdict;
        report.condition = keep_ranges(g, held, report.what);
      }
    }
    report.domain = domain_text(vars, domain);
    if (report.monotonicity == Monotonicity::constant_zero) {
      diags.error(report.loc, fmt::format("dz{0}/dx{0} is zero everywhere: the layer is not "
                                          "invertible",
                                          j));
      ok = false;
    } else if (report.monotonicity == Monotonicity::unproved) {
      std::vector<NodeId> others;
      for (int i = 0; i < dim; ++i)
        if (i != j && depends_on(g, d, vars[size_t(i)])) others.push_back(vars[size_t(i)]);
      if (const auto w = find_sign_change(g, outputs[size_t(j)], d, {vars[size_t(j)]}, others, true,
                                          domain.of_var)) {
        diags.error(report.loc,
                    not_monotone_message(*w, fmt::format("z{}", j), fmt::format("x{}", j),
                                         fmt::format("dz{0}/dx{0}", j)) +
                        ", so the map is not a bijection");
        ok = false;
      } else {
        diags.warning(report.loc, fmt::format("cannot prove dz{0}/dx{0} != 0, so z{0} may not be "
                                              "invertible everywhere; dz{0}/dx{0} = {1}",
                                              j, to_infix(g, d)));
      }
    }
    // Jumps are invisible to the derivative, proved or not.
    if (const auto w =
            find_jump(g, outputs[size_t(j)], {vars[size_t(j)]}, other_inputs(j), domain.of_var)) {
      diags.error(report.loc, jump_message(*w, fmt::format("z{}", j), fmt::format("x{}", j)) +
                                  ", so the map is not a bijection");
      ok = false;
    }
    targets.push_back(g.var(g.add_var_name("z" + std::to_string(j))));
    const Inversion inv = solve_for(g, outputs[size_t(j)], vars[size_t(j)], targets.back());
    report.analytic = inv.ok();
    if (inv.ok()) {
      report.why = fmt::format("x{} = {}", j, to_infix(g, inv.value));
      solutions.push_back(inv.value);
    } else {  // no closed form: Newton-bisection on the monotone output
      report.why = inv.failure + ", so no closed form";
      solutions.push_back(g.solve(targets.back(), outputs[size_t(j)], d, vars[size_t(j)]));
    }
    layer_env.inversions.push_back(std::move(report));
  }
  if (!ok) return std::nullopt;

  BuiltLayer layer;
  layer.order = *order;
  for (int j = 0; j < dim; ++j)
    layer.shown_image.push_back(numeric_image(g, outputs[size_t(j)], {vars[size_t(j)]},
                                              other_inputs(j), domain.of_var, fmt::format("z{}", j),
                                              fmt::format("x{}", j)));
  for (int i = 0; i < dim; ++i) {
    const auto it = domain.of_var.find(vars[size_t(i)]);
    layer.domain.push_back(it == domain.of_var.end() ? Interval::all() : it->second);
  }
  layer.image = [&g, vars, outputs](const std::vector<Interval>& input) {
    std::unordered_map<NodeId, Interval> leaves;
    for (size_t i = 0; i < vars.size(); ++i) leaves[vars[i]] = input[i];
    const auto at = enclose_all(g, outputs, leaves);
    std::vector<Interval> image;
    for (const NodeId out : outputs) image.push_back(at.at(out));
    return image;
  };
  layer.maps.forward = [&g, vars, outputs, logabs, dim](NodeId in) {
    std::unordered_map<NodeId, NodeId> bind;
    for (int i = 0; i < dim; ++i) bind[vars[size_t(i)]] = g.gather(in, {i});
    std::vector<NodeId> z;
    NodeId ld = g.constant(0);
    for (int j = 0; j < dim; ++j) {
      z.push_back(substitute(g, outputs[size_t(j)], bind));
      ld = g.binary(Op::add, ld, substitute(g, logabs[size_t(j)], bind));
    }
    return std::pair{g.concat(z), ld};
  };
  // z_j = e_j(x) solved for x_j in the triangular order, each step using
  // the inputs already recovered.
  layer.maps.inverse = [&g, vars, targets, solutions, logabs, dim,
                        order = *order](NodeId in) -> std::optional<std::pair<NodeId, NodeId>> {
    std::unordered_map<NodeId, NodeId> bind;
    for (int j = 0; j < dim; ++j) bind[targets[size_t(j)]] = g.gather(in, {j});
    std::vector<NodeId> x(static_cast<size_t>(dim));
    NodeId ld = g.constant(0);
    for (int j : order) {
      x[size_t(j)] = substitute(g, solutions[size_t(j)], bind);
      bind[vars[size_t(j)]] = x[size_t(j)];
    }
    for (int j = 0; j < dim; ++j)
      ld = g.binary(Op::sub, ld, substitute(g, logabs[size_t(j)], bind));
    return std::pair{g.concat(x), ld};
  };
  return layer;
}

}  // namespace nfc
