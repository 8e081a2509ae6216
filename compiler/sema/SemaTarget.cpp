// Target declarations: names, scoping and the one `logp`.
#include "compiler/sema/SemaTarget.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <set>

#include "compiler/sema/Sema.hpp"
#include "compiler/sema/SemaExpr.hpp"
#include "compiler/sema/SemaParams.hpp"
#include "dsl/Suggest.hpp"

namespace nfc {

namespace {

// What a name declared in a target is.
struct TargetName {
  enum class Kind { data, param, let };
  Kind kind;
  SourceRange loc;
  size_t let_index = 0;
  int size = 0;  // params: elements (0: invalid declaration, uses unchecked)
  bool is_vector = false;
};

const char* phrase(TargetName::Kind k) {
  switch (k) {
    case TargetName::Kind::data:
      return "a data table";
    case TargetName::Kind::param:
      return "a parameter";
    case TargetName::Kind::let:
      return "a let";
  }
  return "a name";
}

class TargetChecker {
 public:
  TargetChecker(const ast::Target& t, int dim, const Reporter& report)
      : t_(t), dim_(dim), report_(report) {}

  std::optional<TargetSpec> run();

 private:
  void error(SourceRange at, std::string message) {
    report_(at, std::move(message));
    ok_ = false;
  }
  void check_dim(TargetSpec& spec);
  bool declare(const ast::Name& name, TargetName d);
  std::string check_name(const Expr& use, size_t visible_lets,
                         std::optional<size_t> current_let) const;
  void check(const Expr& e, size_t visible_lets, std::optional<size_t> current_let);

  const ast::Target& t_;
  int dim_;
  const Reporter& report_;
  std::map<std::string, TargetName, std::less<>> names_;
  bool ok_ = true;
};

// target NAME(dim = N): optional; names are then checked against N (a file
// may hold targets for flows of several dims: the pipeline checks the one
// it fits).
void TargetChecker::check_dim(TargetSpec& spec) {
  const ArgList args(t_.args, fmt::format("target '{}'", t_.name.text), {"dim"}, report_);
  const ast::Value* v = args.find("dim");
  if (!v) return;
  const std::optional<int64_t> n = integer_in_range(*v, "'dim'", 1, kMaxDim, report_);
  if (!n) {
    ok_ = false;
    return;
  }
  spec.dim = dim_ = static_cast<int>(*n);
  spec.dim_loc = v->loc;
}

bool TargetChecker::declare(const ast::Name& name, TargetName d) {
  const std::string& n = name.text;
  if (n.empty()) return false;  // a syntax error, reported
  if (n == "x" || indexed_name(n, 'x')) {
    error(name.loc, fmt::format("'{}' cannot be declared in a target: x and x0, x1, ... are the "
                                "flow's variables",
                                n));
    return false;
  }
  if (n == "logp") {
    error(name.loc, "'logp' cannot be declared in a target: it is the target's log-density");
    return false;
  }
  if (is_function(n)) {
    error(name.loc, fmt::format("'{}' cannot be declared in a target: it is a function", n));
    return false;
  }
  if (const auto it = names_.find(n); it != names_.end()) {
    error(name.loc, fmt::format("'{}' is already declared on line {} as {}", n, it->second.loc.line,
                                phrase(it->second.kind)));
    return false;
  }
  names_.emplace(n, d);
  return true;
}

// "" if `use` may appear in the expression of the let `current_let` (or in
// logp), which sees the first `visible_lets` lets.
std::string TargetChecker::check_name(const Expr& use, size_t visible_lets,
                                      std::optional<size_t> current_let) const {
  const std::string& name = use.name;
  const bool indexed = use.kind == Expr::Kind::index;
  if (name == "x") {
    if (indexed && !std::isnan(use.value) && dim_ != 0 && (use.value < 0 || use.value >= dim_))
      return fmt::format("index {} is out of range for 'x' (the flow has dim {}: x[0]..x[{}])",
                         use.value, dim_, dim_ - 1);
    return "";
  }
  if (const std::optional<int64_t> k = indexed_name(name, 'x')) {
    if (dim_ != 0 && *k >= dim_)
      return fmt::format("'{}' is out of range: the flow has dim {} ({})", name, dim_,
                         index_range('x', dim_));
    if (indexed) return fmt::format("'{}' is a single value: it cannot be indexed", name);
    return "";
  }
  const auto it = names_.find(name);
  if (it == names_.end()) {
    std::vector<std::string> known{"x"};
    for (const auto& [n, d] : names_) known.push_back(n);
    const std::string hint = did_you_mean(name, known);
    if (!hint.empty()) return fmt::format("unknown name '{}' in target{}", name, hint);
    return fmt::format("unknown name '{}' in target; the variables are x and {}", name,
                       dim_ ? index_range('x', dim_) : "x0, x1, ...");
  }
  const TargetName& d = it->second;
  switch (d.kind) {
    case TargetName::Kind::data:
      return "";  // its shape is known when the file is read
    case TargetName::Kind::param:
      if (indexed && !std::isnan(use.value) && d.size > 0) {
        if (!d.is_vector)
          return fmt::format("'{}' is a scalar parameter and cannot be indexed", name);
        if (use.value < 0 || use.value >= d.size)
          return fmt::format("index {} is out of range for '{}' ({} elements)", use.value, name,
                             d.size);
      }
      return "";
    case TargetName::Kind::let:
      if (current_let && d.let_index == *current_let)
        return fmt::format("let '{}' is used in its own definition", name);
      if (d.let_index >= visible_lets)
        return fmt::format("let '{}' is used before its definition on line {}", name, d.loc.line);
      return "";
  }
  return "";
}

void TargetChecker::check(const Expr& e, size_t visible_lets, std::optional<size_t> current_let) {
  check_expr(
      e, [&](const Expr& use) { return check_name(use, visible_lets, current_let); },
      [&](SourceRange at, std::string message) { error(at, std::move(message)); });
}

std::optional<TargetSpec> TargetChecker::run() {
  TargetSpec spec;
  spec.name = t_.name.text;
  spec.loc = t_.name.loc;
  check_dim(spec);
  for (const ast::Data& d : t_.data) {
    if (!declare(d.name, {TargetName::Kind::data, d.name.loc})) continue;
    spec.data.push_back(DataTable{d.name.text, d.path, d.name.loc, d.path_loc, 0, 0, {}});
  }
  for (const ast::Param& p : t_.params) {
    TargetName d{TargetName::Kind::param, p.name.loc};
    std::optional<ParamDecl> decl;
    if (!p.broken)
      decl = resolve_param(p, [&](SourceRange at, std::string m) { error(at, std::move(m)); });
    if (decl) {
      d.size = static_cast<int>(decl->init.size());
      d.is_vector = decl->is_vector;
    }
    if (declare(p.name, d) && decl) spec.params.push_back(std::move(*decl));
  }
  for (size_t i = 0; i < t_.lets.size(); ++i) {
    TargetName d{TargetName::Kind::let, t_.lets[i].name.loc};
    d.let_index = i;
    declare(t_.lets[i].name, d);
  }
  for (size_t i = 0; i < t_.lets.size(); ++i) {
    const ast::Let& let = t_.lets[i];
    if (!let.expr) continue;
    check(*let.expr, i, i);
    spec.lets.push_back(LetBinding{let.name.text, let.expr, let.name.loc});
  }
  for (const ast::Assignment& def : t_.defs) {
    if (def.target.text != "logp") {
      error(def.target.loc,
            fmt::format("unknown target output '{}'; a target defines 'logp'", def.target.text));
      continue;
    }
    if (spec.logp || spec.logp_loc.line != 0) {
      error(def.target.loc, "duplicate definition of 'logp'");
      continue;
    }
    spec.logp_loc = def.target.loc;
    if (!def.expr) {
      ok_ = false;
      continue;
    }
    check(*def.expr, t_.lets.size(), std::nullopt);
    spec.logp = def.expr;
  }
  if (spec.logp_loc.line == 0)
    error(t_.name.loc, fmt::format("target '{}' does not define 'logp'", t_.name.text));
  if (!ok_) return std::nullopt;
  return spec;
}

}  // namespace

std::vector<TargetSpec> check_targets(const std::vector<ast::Target>& targets, int dim,
                                      const Reporter& report) {
  std::vector<TargetSpec> out;
  std::set<std::string> seen;
  for (const ast::Target& t : targets) {
    if (!t.header_ok || t.name.text.empty()) continue;
    if (!seen.insert(t.name.text).second) {
      report(t.name.loc, fmt::format("redefinition of target '{}'", t.name.text));
      continue;
    }
    if (std::optional<TargetSpec> spec = TargetChecker(t, dim, report).run())
      out.push_back(std::move(*spec));
  }
  return out;
}

}  // namespace nfc
