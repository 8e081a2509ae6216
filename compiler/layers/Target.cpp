// A target's expressions to graph, lengths checked first.
#include "compiler/layers/Target.hpp"

#include <fmt/format.h>

#include <cmath>

#include "compiler/analysis/Domain.hpp"
#include "compiler/analysis/Structure.hpp"
#include "compiler/layers/LowerExpr.hpp"
#include "compiler/layers/Params.hpp"
#include "support/InternalError.hpp"

namespace nfc {

namespace {

class TargetLowering {
 public:
  TargetLowering(Graph& g, const TargetSpec& t, Diagnostics& diags) : g_(g), t_(t), diags_(diags) {}

  std::optional<TargetDensity> run(NodeId x, int dim);

 private:
  NodeId lower_logp(NameEnv env);
  std::vector<Interval> domain(int dim);
  int length(const Expr& e);
  int combine(const Expr& e, std::string_view what, std::initializer_list<int> lengths);
  int call_length(const Expr& e);
  const DataTable* table(const Expr& e) const;
  void declare_tables();

  Graph& g_;
  const TargetSpec& t_;
  Diagnostics& diags_;
  NameEnv env_;
  TableEnv tables_;
};

// The table `e` names if it is a table of more than one column.
const DataTable* TargetLowering::table(const Expr& e) const {
  if (e.kind != Expr::Kind::name && e.kind != Expr::Kind::index) return nullptr;
  for (const DataTable& d : t_.data)
    if (d.name == e.name && d.cols > 1) return &d;
  return nullptr;
}

// The length of operands combined elementwise: equal, or 1 (broadcast).
int TargetLowering::combine(const Expr& e, std::string_view what,
                            std::initializer_list<int> lengths) {
  int out = 1;
  for (int n : lengths) {
    if (n < 0) return -1;
    if (n == 1 || n == out) continue;
    if (out != 1) {
      diags_.error(e.loc, fmt::format("the {} have {} and {} values: they must have the same "
                                      "length, or one of them a single value",
                                      what, out, n));
      return -1;
    }
    out = n;
  }
  return out;
}

int TargetLowering::call_length(const Expr& e) {
  if (e.name == "sum") return length(*e.args[0]) < 0 ? -1 : 1;
  if (e.name == "dot") {
    const int v = length(*e.args[1]);
    if (const DataTable* X = table(*e.args[0]); X && e.args[0]->kind == Expr::Kind::name) {
      if (v < 0) return -1;
      if (v != X->cols) {
        diags_.error(e.args[1]->loc, fmt::format("dot({0}, v) needs v of {1} values, one per "
                                                 "column of '{0}'; this one has {2}",
                                                 X->name, X->cols, v));
        return -1;
      }
      return int(X->rows);
    }
    return combine(e, "arguments of 'dot'", {length(*e.args[0]), v}) < 0 ? -1 : 1;
  }
  std::vector<int> lengths;
  for (const ExprPtr& a : e.args) lengths.push_back(length(*a));
  int out = 1;
  for (int n : lengths) {
    out = combine(e, fmt::format("arguments of '{}'", e.name), {out, n});
    if (out < 0) return -1;
  }
  return out;
}

// How many values `e` has; -1 after reporting why it has none.
int TargetLowering::length(const Expr& e) {
  if (const DataTable* X = table(e)) {
    diags_.error(e.loc, fmt::format("'{0}' is a table of {1} rows and {2} columns: use it as "
                                    "dot({0}, v), one value per row",
                                    X->name, X->rows, X->cols));
    return -1;
  }
  switch (e.kind) {
    case Expr::Kind::number:
      return 1;
    case Expr::Kind::name:
      return g_.len(env_.at(e.name));
    case Expr::Kind::index: {
      const int n = g_.len(env_.at(e.name));
      if (std::isnan(e.value) || e.value < 0 || e.value >= n) {
        diags_.error(e.loc, fmt::format("index {} is out of range for '{}' ({} values)", e.value,
                                        e.name, n));
        return -1;
      }
      return 1;
    }
    case Expr::Kind::neg:
      return length(*e.args[0]);
    case Expr::Kind::binary:
      return combine(e, fmt::format("operands of '{}'", e.op),
                     {length(*e.args[0]), length(*e.args[1])});
    case Expr::Kind::compare:
      return combine(e, "two sides of the comparison", {length(*e.args[0]), length(*e.args[1])});
    case Expr::Kind::call:
      return call_length(e);
  }
  return -1;
}

// Each table a data tensor of its values: a matrix for dot when it has
// several columns, a vector of its rows when one.
void TargetLowering::declare_tables() {
  for (const DataTable& d : t_.data) {
    internal_check(int64_t(d.values.size()) == d.rows * d.cols, "target table not read");
    const int tensor =
        g_.add_param("data." + d.name, d.cols > 1 ? std::vector<int>{int(d.rows), int(d.cols)}
                                                  : std::vector<int>{int(d.rows)});
    g_.set_param_init(tensor, d.values);
    g_.mark_param_data(tensor);
    env_[d.name] = g_.param(tensor);
    if (d.cols > 1) tables_[d.name] = {g_.param(tensor), int(d.rows), int(d.cols)};
  }
}

// The lets and logp over `env` (the variables, parameters and tables bound).
NodeId TargetLowering::lower_logp(NameEnv env) {
  for (const LetBinding& let : t_.lets) env[let.name] = lower_expr(g_, *let.expr, env, &tables_);
  return lower_expr(g_, *t_.logp, env, &tables_);
}

// Where logp is defined, per x_k (Domain.cpp): logp once more over one
// placeholder var per coordinate, the form domain inference reads. All of
// ℝ where nothing restricts x_k, or where the domain is no box.
std::vector<Interval> TargetLowering::domain(int dim) {
  NameEnv env = env_;
  std::vector<NodeId> vars;
  for (int k = 0; k < dim; ++k) {
    vars.push_back(g_.var(g_.add_var_name("x" + std::to_string(k)), 1));
    env["x" + std::to_string(k)] = vars.back();
  }
  env["x"] = g_.concat(vars);
  const DomainInference inferred = infer_domain(g_, {lower_logp(env)});
  std::vector<Interval> out(size_t(dim), Interval::all());
  if (inferred.undetermined >= 0 || inferred.empty >= 0) return out;
  for (int k = 0; k < dim; ++k)
    if (const auto it = inferred.of_var.find(vars[size_t(k)]); it != inferred.of_var.end())
      out[size_t(k)] = it->second;
  return out;
}

std::optional<TargetDensity> TargetLowering::run(NodeId x, int dim) {
  for (const ParamDecl& p : t_.params) env_[p.name] = declare_param(g_, p, "target." + p.name);
  declare_tables();
  // Lengths first, each let's before it is bound (later ones read it).
  NameEnv at_x = env_;
  at_x["x"] = x;
  for (int k = 0; k < dim; ++k) at_x["x" + std::to_string(k)] = g_.gather(x, {k});
  std::swap(env_, at_x);
  for (const LetBinding& let : t_.lets) {
    if (length(*let.expr) < 0) return std::nullopt;
    env_[let.name] = lower_expr(g_, *let.expr, env_, &tables_);
  }
  const int n = length(*t_.logp);
  std::swap(env_, at_x);  // env_: parameters and tables only
  if (n < 0) return std::nullopt;
  if (n != 1) {
    diags_.error(t_.logp->loc, fmt::format("logp must be a single number, but this expression "
                                           "has {} values: add them up with sum(...)",
                                           n));
    return std::nullopt;
  }
  const NodeId logp = lower_expr(g_, *t_.logp, at_x, &tables_);
  const DependencyMatrix deps = dependency_matrix(g_, logp, x);
  for (int k = 0; k < dim; ++k)
    if (!deps[0][size_t(k)])
      diags_.warning(t_.loc, fmt::format("target '{}' does not depend on x{}: its density is "
                                         "flat along x{}, which no flow can fit",
                                         t_.name, k, k));
  return TargetDensity{logp, domain(dim)};
}

}  // namespace

std::optional<TargetDensity> build_target_density(Graph& g, const TargetSpec& t, NodeId x, int dim,
                                                  Diagnostics& diags) {
  return TargetLowering(g, t, diags).run(x, dim);
}

}  // namespace nfc
