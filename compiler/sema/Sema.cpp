// Semantic analysis of a parsed file. The walk over layers unrolls repeats as
// it goes; errors found in the first pass over a repeat body are not
// reported again for later iterations (no check depends on the iteration).
#include "compiler/sema/Sema.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "compiler/sema/Masks.hpp"
#include "compiler/sema/Permutations.hpp"
#include "compiler/sema/SemaArgs.hpp"
#include "compiler/sema/SemaBase.hpp"
#include "compiler/sema/SemaData.hpp"
#include "compiler/sema/SemaExpr.hpp"
#include "compiler/sema/SemaParams.hpp"
#include "compiler/sema/SemaSpline.hpp"
#include "compiler/sema/SemaTarget.hpp"
#include "dsl/Suggest.hpp"
#include "support/InternalError.hpp"

namespace nfc {

namespace {

constexpr std::pair<std::string_view, Activation> kActivations[] = {
    {"relu", Activation::relu},       {"tanh", Activation::tanh},
    {"elu", Activation::elu},         {"gelu", Activation::gelu},
    {"sigmoid", Activation::sigmoid}, {"softplus", Activation::softplus},
};

// Layers in `body` after unrolling, saturating far above any limit. Invalid
// repeat counts count as 1 (they are reported elsewhere).
int64_t count_layers(const std::vector<ast::Layer>& body) {
  constexpr int64_t kSaturate = int64_t{1} << 40;
  int64_t total = 0;
  for (const ast::Layer& layer : body) {
    if (const auto* r = std::get_if<ast::Repeat>(&layer.node)) {
      const int64_t n = std::clamp<int64_t>(as_integer(r->count).value_or(1), 1, kMaxRepeat);
      total += n * count_layers(r->body);
    } else {
      total += 1;
    }
    total = std::min(total, kSaturate);
  }
  return total;
}

bool before(SourceRange a, SourceRange b) {
  return a.line != b.line ? a.line < b.line : a.col < b.col;
}

bool same_place(SourceRange a, SourceRange b) {
  return a.line == b.line && a.col == b.col;
}

// "w[0]..w[3]" (or "w[0]" for one element).
std::string element_range(const std::string& name, int size) {
  if (size == 1) return fmt::format("{}[0]", name);
  return fmt::format("{}[0]..{}[{}]", name, name, size - 1);
}

// A name declared by `param` or `let`, as scoping sees it.
struct Declared {
  enum class Kind { flow_param, map_param, let };
  Kind kind = Kind::flow_param;
  SourceRange loc;         // the name in its declaration
  bool is_vector = false;  // params
  int size = 0;            // params: elements; 0 if the declaration is invalid (uses unchecked)
  size_t let_index = 0;    // lets: position among the map's lets
  SourceRange map;         // map params and lets: the map's keyword
};

using Scope = std::map<std::string, Declared, std::less<>>;

Declared declared(Declared::Kind kind, SourceRange loc, SourceRange map = {}) {
  Declared d;
  d.kind = kind;
  d.loc = loc;
  d.map = map;
  return d;
}

const char* kind_phrase(Declared::Kind kind) {
  switch (kind) {
    case Declared::Kind::flow_param:
      return "a flow parameter";
    case Declared::Kind::map_param:
      return "a parameter of this map";
    case Declared::Kind::let:
      return "a let";
  }
  return "a name";
}

// Whether a use of a parameter fits its shape: a vector is used by element
// with an index in range, a scalar by name. "" if it does.
std::string check_param_use(const Expr& use, const Declared& d) {
  if (d.size == 0) return "";
  const std::string& name = use.name;
  if (use.kind == Expr::Kind::index) {
    if (std::isnan(use.value)) return "";  // not an integer: reported by the parser
    if (!d.is_vector) return fmt::format("'{}' is a scalar parameter and cannot be indexed", name);
    if (use.value < 0 || use.value >= d.size) {
      return fmt::format("index {} is out of range for '{}' ({} element{}: {})", use.value, name,
                         d.size, d.size == 1 ? "" : "s", element_range(name, d.size));
    }
    return "";
  }
  if (d.is_vector) {
    return fmt::format("'{}' is a vector parameter: use one of its elements, {}", name,
                       element_range(name, d.size));
  }
  return "";
}

class Sema {
 public:
  std::optional<FlowSpec> run(const ast::File& prelude, const ast::File& file);
  std::vector<Diagnostic>& errors() { return errors_; }
  std::vector<Diagnostic>& unused() { return unused_; }

 private:
  void error(SourceRange at, std::string message) {
    if (!muted_) errors_.push_back(Diagnostic{at, std::move(message)});
  }
  void warn_unused(SourceRange at, std::string message) {
    if (!muted_)
      unused_.push_back(Diagnostic{at, std::move(message), Diagnostic::Severity::warning});
  }
  Reporter reporter() {
    return [this](SourceRange at, std::string message) { error(at, std::move(message)); };
  }

  void check_file_shape(const ast::File& file);
  void add_transform(const ast::Transform& t);
  void check_transform_body(const ast::Transform& t);
  int find_transform(const ast::Name& name);
  void check_flow_params(const ast::Flow& flow);
  void collect_map_names(const std::vector<ast::Layer>& body);
  bool declare(Scope& scope, const ast::Name& name, Declared d);
  std::string used_outside_maps(const std::string& name, std::string_view where) const;
  std::string check_map_name(const Expr& use, const Scope& local, SourceRange map,
                             size_t visible_lets, std::optional<size_t> current_let) const;
  MapSpec check_map_declarations(const ast::Map& m, Scope& local);
  void check_map_lets(const ast::Map& m, const Scope& local, MapSpec& spec,
                      std::set<std::string>& used);
  void warn_unused_locals(const ast::Map& m, const std::set<std::string>& used);
  void check_header(const ast::Flow& flow);
  void check_base(const ast::Value& v);
  void check_context_net(const ast::Value& v);
  void push_conditional_base();
  void check_size(const ast::Flow& flow);
  void check_layers(const std::vector<ast::Layer>& body);
  void check_layer(const ast::Repeat& r);
  void check_layer(const ast::Coupling& c);
  void check_autoregressive(const ast::Coupling& c);
  void check_elementwise(const ast::Coupling& c);
  void check_conditioned_elementwise(const ast::Coupling& c, const TransformDef& t,
                                     ElementwiseSpec spec);
  void check_linear(const ast::Coupling& c);
  void check_dequantize(const ast::Coupling& c);
  int expression_transform(const std::string& key, const std::string& name, ExprPtr body);
  void reject_block(const ast::Coupling& c);
  int function_transform(const std::string& function);
  bool resolve_transformer(const ast::Coupling& c, const ArgList& args, TransformerSpec& t,
                           std::vector<ParamRewrite>& rewrites);
  std::optional<std::vector<int>> resolve_order(const ast::Value& v);
  void check_layer(const ast::Permute& p);
  void check_layer(const ast::Map& m);
  void check_layer(const ast::ActNorm& a);
  std::optional<std::vector<int>> resolve_mask(const ast::Value& v, int k);
  std::optional<std::vector<int>> check_mask_list(const ast::Value& v);
  MlpSpec resolve_net(const ast::Coupling& c, std::string_view kind = "mlp",
                      bool* residual = nullptr);
  MlpSpec resolve_net_value(const ast::Value& v, std::string_view kind, bool* residual,
                            std::optional<int>* out);
  void resolve_hidden(const ast::Value& v, MlpSpec& net);
  void resolve_activation(const ast::Value& v, MlpSpec& net);
  std::vector<ParamRewrite> resolve_rewrites(const ast::Coupling& c, const TransformDef& t);
  std::optional<std::vector<int>> resolve_permutation(const ast::Value& v, std::string& label);
  std::optional<std::vector<int>> random_permutation_of(const ast::Value& v);
  std::optional<std::vector<int>> check_permutation_list(const ast::Value& v);
  void report_missing_outputs(const ast::Map& m, const std::vector<const ast::Assignment*>& defs);
  void push_layer(SourceRange loc, std::string label, decltype(LayerSpec::kind) kind);

  FlowSpec spec_;
  std::map<std::string, int, std::less<>> transforms_;  // index in spec_, -1 = broken
  std::set<std::string> transform_names_;  // every transform of the prelude and the file
  std::vector<Diagnostic> errors_;
  std::vector<Diagnostic> unused_;  // "never used" warnings: shown only for valid files
  Scope flow_scope_;                // flow-level parameters
  // Parameters and lets of every map, by name (a name may be declared in
  // several maps): to explain uses outside their map.
  std::map<std::string, std::vector<Declared>, std::less<>> map_names_;
  std::set<std::string> used_in_maps_;  // every name any map expression mentions
  int dim_ = 0;           // 0 while unknown or invalid: dim-dependent checks are skipped
  int context_dim_ = 0;   // the flow's context length: maps may read c0..c{C-1}
  int standardize_ = -1;  // the prelude's `standardize`, whatever the file defines
  // `base = diag_normal(net = ...)`: the network, pushed as the last layer.
  std::optional<MlpSpec> conditional_base_;
  SourceRange conditional_base_loc_;
  int couplings_ = 0;   // coupling layers seen so far, in unrolled order
  bool muted_ = false;  // inside the second and later passes over a repeat body
  bool in_repeat_ = false;
  int layers_seen_ = 0;   // layers checked so far, with repeats unrolled
  bool building_ = true;  // false when the unrolled flow is too large to build
};

std::optional<FlowSpec> Sema::run(const ast::File& prelude, const ast::File& file) {
  for (const ast::Transform& t : prelude.transforms) add_transform(t);
  for (const ast::File* f : {&prelude, &file})
    for (const ast::Transform& t : f->transforms) transform_names_.insert(t.name.text);
  internal_check(errors_.empty(), "the prelude's transforms must check cleanly");
  standardize_ = transforms_.at("standardize");
  // A user file may define its own version of a standard transform (as
  // examples often spell out `affine`): the user's definition wins.
  for (const ast::Transform& t : file.transforms) transforms_.erase(t.name.text);

  check_file_shape(file);
  // Parameters first, so transforms and rewrites that use them are told why
  // they may not.
  if (!file.flows.empty()) {
    // The header first: the context's length decides which names are reserved.
    if (file.flows[0].header_ok) check_header(file.flows[0]);
    check_flow_params(file.flows[0]);
    collect_map_names(file.flows[0].body);
  }
  for (const ast::Transform& t : file.transforms) add_transform(t);
  if (file.flows.empty() || !file.flows[0].header_ok) return std::nullopt;
  const ast::Flow& flow = file.flows[0];
  check_size(flow);
  check_layers(flow.body);
  push_conditional_base();
  spec_.targets = check_targets(file.targets, dim_, reporter());
  for (const ParamDecl& p : spec_.params) {
    if (!used_in_maps_.contains(p.name)) {
      warn_unused(p.loc, fmt::format("parameter '{}' is never used", p.name));
    }
  }
  return std::move(spec_);
}

// param NAME = init [constraint], ... at the top level of the flow.
void Sema::check_flow_params(const ast::Flow& flow) {
  for (const ast::Param& p : flow.params) {
    Declared d = declared(Declared::Kind::flow_param, p.name.loc);
    std::optional<ParamDecl> decl;
    if (!p.broken) decl = resolve_param(p, reporter());
    if (decl) {
      d.is_vector = decl->is_vector;
      d.size = static_cast<int>(decl->init.size());
    }
    if (declare(flow_scope_, p.name, d) && decl) spec_.params.push_back(std::move(*decl));
  }
}

// The names every map declares (through repeats), for messages about uses
// outside their map.
void Sema::collect_map_names(const std::vector<ast::Layer>& body) {
  for (const ast::Layer& layer : body) {
    if (const auto* r = std::get_if<ast::Repeat>(&layer.node)) collect_map_names(r->body);
    const auto* m = std::get_if<ast::Map>(&layer.node);
    if (!m) continue;
    for (const ast::Param& p : m->params) {
      map_names_[p.name.text].push_back(
          declared(Declared::Kind::map_param, p.name.loc, m->keyword));
    }
    for (const ast::Let& l : m->lets) {
      map_names_[l.name.text].push_back(declared(Declared::Kind::let, l.name.loc, m->keyword));
    }
  }
}

// Adds `name` to `scope` (the flow's or a map's) unless it is reserved (an
// input or output name, a function) or already declared in the flow or in
// `scope`; false after reporting why.
bool Sema::declare(Scope& scope, const ast::Name& name, Declared d) {
  const std::string& n = name.text;
  if (n.empty()) return false;  // a syntax error was reported
  const char* what = d.kind == Declared::Kind::let ? "a let" : "a parameter";
  if (indexed_name(n, 'x') || indexed_name(n, 'z')) {
    error(name.loc, fmt::format("{} cannot be named '{}': x0, x1, ... are the inputs and z0, "
                                "z1, ... the outputs",
                                what, n));
    return false;
  }
  if (context_dim_ > 0 && indexed_name(n, 'c')) {
    error(name.loc, fmt::format("{} cannot be named '{}': c0, c1, ... are the context", what, n));
    return false;
  }
  if (is_function(n)) {
    error(name.loc, fmt::format("{} cannot be named '{}': it is a function", what, n));
    return false;
  }
  for (const Scope* s : {&flow_scope_, &scope}) {
    const auto it = s->find(n);
    if (it == s->end()) continue;
    error(name.loc, fmt::format("'{}' is already declared on line {} as {}", n, it->second.loc.line,
                                kind_phrase(it->second.kind)));
    return false;
  }
  scope.emplace(n, d);
  return true;
}

// The error for `name` used in `where` (a transform or a rewrite) when it is
// a parameter or a let, which only maps may use; "" if it is neither.
std::string Sema::used_outside_maps(const std::string& name, std::string_view where) const {
  if (flow_scope_.contains(name)) {
    return fmt::format(
        "'{}' is a flow parameter and cannot be used in {}: parameters are for "
        "maps only",
        name, where);
  }
  const auto it = map_names_.find(name);
  if (it == map_names_.end()) return "";
  const Declared& d = it->second.front();
  return fmt::format("'{}' is {} of the map on line {} and cannot be used in {}", name,
                     d.kind == Declared::Kind::let ? "a let" : "a parameter", d.map.line, where);
}

// One flow, after every transform.
void Sema::check_file_shape(const ast::File& file) {
  if (file.flows.empty()) {
    error(file.end, "missing flow: a file must define one 'flow NAME(dim = N) { ... }'");
    return;
  }
  for (size_t i = 1; i < file.flows.size(); ++i) {
    const ast::Flow& extra = file.flows[i];
    const SourceRange at = extra.name.text.empty() ? extra.keyword : extra.name.loc;
    error(at, fmt::format("second flow '{}': a file holds exactly one flow", extra.name.text));
  }
  for (const ast::Transform& t : file.transforms) {
    if (!t.name.text.empty() && before(file.flows[0].keyword, t.keyword)) {
      error(t.name.loc, fmt::format("transform '{}' is defined after the flow; define "
                                    "transforms before it",
                                    t.name.text));
    }
  }
}

void Sema::add_transform(const ast::Transform& t) {
  if (t.name.text.empty()) return;   // nameless: a syntax error was reported
  if (t.name.text == kSplineName) {  // not shadowed silently: layers mean the built-in
    error(t.name.loc,
          "'spline' is the built-in spline transformer; give this transform another name");
    return;
  }
  if (transforms_.contains(t.name.text)) {
    error(t.name.loc, fmt::format("redefinition of transform '{}'", t.name.text));
    return;
  }
  if (!t.header_ok) {
    transforms_[t.name.text] = -1;
    return;
  }
  check_transform_body(t);
  std::vector<std::string> params;
  for (const ast::Name& p : t.params) params.push_back(p.text);
  transforms_[t.name.text] = static_cast<int>(spec_.transforms.size());
  spec_.transforms.push_back(TransformDef{t.name.text, t.input.text, params, t.body, t.name.loc});
}

// Distinct parameter names; the body uses only them and the input, and does
// use the input.
void Sema::check_transform_body(const ast::Transform& t) {
  std::vector<std::string> names{t.input.text};
  for (const ast::Name& p : t.params) {
    if (std::find(names.begin(), names.end(), p.text) != names.end()) {
      error(p.loc, fmt::format("duplicate parameter '{}' in transform '{}'", p.text, t.name.text));
    }
    names.push_back(p.text);
  }
  if (!t.body) return;
  check_expr(
      *t.body,
      [&](const Expr& use) -> std::string {
        const std::string& name = use.name;
        if (std::find(names.begin(), names.end(), name) != names.end()) {
          if (use.kind != Expr::Kind::index) return "";
          return fmt::format("'{}' is not a vector and cannot be indexed", name);
        }
        std::string outside = used_outside_maps(name, fmt::format("transform '{}'", t.name.text));
        if (!outside.empty()) return outside;
        return fmt::format("unknown name '{}' in transform '{}'{}", name, t.name.text,
                           did_you_mean(name, names));
      },
      reporter(), transform_names_);
  if (!uses_name(*t.body, t.input.text)) {
    error(t.name.loc, fmt::format("transform '{}' does not depend on its input '{}'", t.name.text,
                                  t.input.text));
  }
}

// Index into spec_.transforms; -1 if unknown (reported) or broken (silent).
int Sema::find_transform(const ast::Name& name) {
  const auto it = transforms_.find(name.text);
  if (it != transforms_.end()) return it->second;
  std::vector<std::string> known{std::string(kSplineName)};
  for (const auto& [known_name, index] : transforms_) known.push_back(known_name);
  error(name.loc,
        fmt::format("unknown transform '{}'{}", name.text, did_you_mean(name.text, known)));
  return -1;
}

// flow NAME(dim = INT, base = B, context = C, context_net = N, image = [H, W, C]),
// B checked by resolve_base (SemaBase.cpp)
void Sema::check_header(const ast::Flow& flow) {
  spec_.name = flow.name.text;
  spec_.loc = flow.name.loc;
  const ArgList args(flow.args, fmt::format("flow '{}'", flow.name.text),
                     {"dim", "base", "context", "context_net", "image"}, reporter());
  if (const ast::Value* dim = args.require("dim", flow.name.loc)) {
    if (auto n = integer_in_range(*dim, "'dim'", 1, kMaxDim, reporter())) {
      dim_ = static_cast<int>(*n);
    }
  }
  // The context before the base and its network: both need one.
  if (const ast::Value* context = args.find("context")) {
    if (auto n = integer_in_range(*context, "'context'", 0, kMaxDim, reporter())) {
      context_dim_ = static_cast<int>(*n);
    }
  }
  if (const ast::Value* base = args.find("base")) check_base(*base);
  if (const ast::Value* net = args.find("context_net")) check_context_net(*net);
  if (const ast::Value* image = args.find("image"))
    spec_.format.image = resolve_image(*image, dim_, reporter()).value_or(std::vector<int>{});
  spec_.dim = dim_;
  spec_.context_dim = context_dim_;
}

// A conditional diagonal normal base, `diag_normal(net = mlp(...))`: its
// mean and log-scale are a network of the context. It is the standard
// normal behind a last layer z = (y - mean(c)) exp(-log_scale(c)), which
// has the same density and samples through the flow's inverse.
void Sema::check_base(const ast::Value& v) {
  if (v.kind == ast::Value::Kind::call && v.text == "diag_normal" && !v.args.empty()) {
    const ArgList args(v.args, "'diag_normal'", {"net"}, reporter());
    const ast::Value* net = args.find("net");
    if (!net) return;
    if (context_dim_ == 0) {
      error(net->loc,
            "a base with a network needs a conditional flow: its mean and log-scale are "
            "networks of the context (declare context = N)");
      return;
    }
    conditional_base_ = resolve_net_value(*net, "mlp", nullptr, nullptr);
    conditional_base_loc_ = v.loc;
    spec_.base = BaseSettings{};
    return;
  }
  if (auto base = resolve_base(v, reporter())) spec_.base = *base;
}

void Sema::push_conditional_base() {
  if (!conditional_base_) return;
  ElementwiseSpec spec;
  spec.transform = standardize_;
  spec.init = {0, 0};
  spec.net = conditional_base_;
  spec_.conditional_base = true;
  push_layer(conditional_base_loc_, "base diag_normal(net)", std::move(spec));
}

// context_net = mlp(hidden = [...], out = E, act = ...): the context's
// embedding, which every conditioner reads.
void Sema::check_context_net(const ast::Value& v) {
  if (context_dim_ == 0) {
    error(v.loc,
          "'context_net' embeds the context of a conditional flow; this flow has none "
          "(declare context = N)");
    return;
  }
  std::optional<int> out;
  MlpSpec net = resolve_net_value(v, "mlp", nullptr, &out);
  if (!out) return;
  spec_.context_net = std::move(net);
  spec_.context_net_out = *out;
}

// Refuses to unroll flows whose layers would not fit in memory.
void Sema::check_size(const ast::Flow& flow) {
  const int64_t layers = count_layers(flow.body);
  if (layers > kMaxLayers) {
    error(flow.name.loc,
          fmt::format("flow has {} layers after unrolling repeats (limit {})", layers, kMaxLayers));
    building_ = false;
  } else if (layers * std::max(dim_, 1) > kMaxLayerEntries) {
    error(flow.name.loc, fmt::format("flow is too large: {} layers of dim {} (layers x dim is "
                                     "limited to {})",
                                     layers, dim_, kMaxLayerEntries));
    building_ = false;
  }
}

void Sema::check_layers(const std::vector<ast::Layer>& body) {
  for (const ast::Layer& layer : body) {
    std::visit([this](const auto& node) { check_layer(node); }, layer.node);
  }
}

// repeat N { ... }: unrolled N times; errors reported on the first pass only.
void Sema::check_layer(const ast::Repeat& r) {
  const auto n = integer_in_range(r.count, "repeat count", 1, kMaxRepeat, reporter());
  const int64_t times = building_ && n ? *n : 1;
  const bool was_muted = muted_, was_in_repeat = in_repeat_;
  in_repeat_ = true;
  for (int64_t i = 0; i < times; ++i) {
    check_layers(r.body);
    muted_ = true;
  }
  muted_ = was_muted;
  in_repeat_ = was_in_repeat;
}

// coupling T(mask = M) { net = ...; P = expr ... }
// coupling spline(mask = M, bins = K, bound = B, min_...) { net = ... }
void Sema::check_layer(const ast::Coupling& c) {
  if (c.kind == "elementwise") return check_elementwise(c);
  if (c.kind == "linear") return check_linear(c);
  if (c.kind == "dequantize") return check_dequantize(c);
  if (c.kind != "coupling") return check_autoregressive(c);
  const int k = couplings_++;
  const bool spline = c.transform.text == kSplineName;
  const ArgList args =
      spline ? ArgList(c.args, "'coupling'",
                       {"mask", "bins", "bound", "min_width", "min_height", "min_derivative"},
                       reporter())
             : ArgList(c.args, "'coupling'", {"mask"}, reporter());
  std::optional<std::vector<int>> mask;
  if (const ast::Value* m = args.require("mask", c.transform.loc)) mask = resolve_mask(*m, k);
  CouplingSpec spec;
  spec.net = resolve_net(c);
  if (!resolve_transformer(c, args, spec.transformer, spec.rewrites)) return;
  if (!mask) return;
  for (int i = 0; i < dim_; ++i) {
    (mask->at(static_cast<size_t>(i)) ? spec.transformed_dims : spec.identity_dims).push_back(i);
  }
  push_layer(c.keyword, "coupling " + c.transform.text, std::move(spec));
}

// The layer's transformer: the built-in spline (its settings from `args`)
// or a .nf transform and the block's rewrites. False after reporting.
bool Sema::resolve_transformer(const ast::Coupling& c, const ArgList& args, TransformerSpec& t,
                               std::vector<ParamRewrite>& rewrites) {
  if (c.transform.text == kSplineName) {
    for (const ast::Assignment& rw : c.rewrites)
      error(rw.target.loc,
            fmt::format("cannot rewrite '{}': the spline transformer takes no rewrites",
                        rw.target.text));
    t.spline = resolve_spline(args, reporter());
    return t.spline && c.rewrites.empty();
  }
  t.transform = find_transform(c.transform);
  if (t.transform < 0) return false;
  rewrites = resolve_rewrites(c, spec_.transforms[static_cast<size_t>(t.transform)]);
  return true;
}

// elementwise and linear layers take no block.
void Sema::reject_block(const ast::Coupling& c) {
  for (const ast::Arg& net : c.nets)
    error(net.key.loc, fmt::format("'{}' takes no network", c.kind));
  for (const ast::Assignment& rw : c.rewrites)
    error(rw.target.loc, fmt::format("'{}' takes no rewrites", c.kind));
}

// A parameterless transform `name(x) = body`, added to the model once per `key`.
int Sema::expression_transform(const std::string& key, const std::string& name, ExprPtr body) {
  if (auto it = transforms_.find(key); it != transforms_.end()) return it->second;
  spec_.transforms.push_back(TransformDef{name, "x", {}, std::move(body), spec_.loc});
  const int index = static_cast<int>(spec_.transforms.size()) - 1;
  transforms_[key] = index;
  return index;
}

// A one-argument function as a parameterless transform `f(x) = f(x)`.
int Sema::function_transform(const std::string& function) {
  auto x = std::make_shared<Expr>();
  x->kind = Expr::Kind::name;
  x->name = "x";
  auto call = std::make_shared<Expr>();
  call->kind = Expr::Kind::call;
  call->name = function;
  call->args = {x};
  return expression_transform("fn:" + function, function, call);
}

// elementwise F: F a one-argument function (exp, sigmoid, logit, ...) or a
// transform whose parameters become per-dimension learnable vectors,
// initialised from the arguments (`elementwise affine(s = 0, t = 0)`, 0 when
// absent).
void Sema::check_elementwise(const ast::Coupling& c) {
  static const std::vector<std::string> kFunctions = {
      "exp",  "log",   "log1p", "expm1", "sqrt", "tanh", "atanh", "sigmoid", "logit", "softplus",
      "sinh", "asinh", "atan",  "asin",  "acos", "cbrt", "log2",  "tan",     "erf",   "erfinv"};
  ElementwiseSpec spec;
  const std::string& name = c.transform.text;
  std::string label = "elementwise " + name;
  const bool function = std::find(kFunctions.begin(), kFunctions.end(), name) != kFunctions.end() &&
                        transforms_.find(name) == transforms_.end();
  if (function && name == "logit" && !c.args.empty()) {
    // The squeezed logit: a constant, not a learnable parameter.
    const ArgList args(c.args, "function 'logit'", {"alpha"}, reporter());
    const ast::Value* a = args.find("alpha");
    const std::optional<double> alpha = a ? resolve_alpha(*a, reporter()) : std::nullopt;
    if (!alpha) return;
    spec.transform = expression_transform(fmt::format("fn:logit:{:.17g}", *alpha), "logit",
                                          squeezed_logit_body(*alpha, c.transform.loc));
    label = fmt::format("elementwise logit(alpha = {:g})", *alpha);
  } else if (function) {
    for (const ast::Arg& a : c.args)
      error(a.key.loc, fmt::format("function '{}' takes no parameters", name));
    spec.transform = function_transform(name);
  } else {
    spec.transform = find_transform(c.transform);
    if (spec.transform < 0) return;
    const TransformDef& t = spec_.transforms[static_cast<size_t>(spec.transform)];
    spec.init.assign(t.params.size(), 0.0);
    if (!c.nets.empty()) return check_conditioned_elementwise(c, t, std::move(spec));
    for (const ast::Arg& a : c.args) {
      auto it = std::find(t.params.begin(), t.params.end(), a.key.text);
      if (it == t.params.end()) {
        error(a.key.loc, fmt::format("'{}' is not a parameter of transform '{}'{}", a.key.text,
                                     t.name, did_you_mean(a.key.text, t.params)));
        continue;
      }
      const std::optional<double> v =
          a.value.kind == ast::Value::Kind::number && std::isfinite(a.value.number)
              ? std::optional<double>(a.value.number)
              : std::nullopt;
      if (!v) {
        if (a.value.kind != ast::Value::Kind::error)
          error(a.value.loc, fmt::format("initial value of '{}' must be a number, found {}",
                                         a.key.text, describe(a.value)));
        continue;
      }
      spec.init[static_cast<size_t>(it - t.params.begin())] = *v;
    }
  }
  reject_block(c);
  push_layer(c.keyword, std::move(label), std::move(spec));
}

// elementwise T { net = mlp(...); P = expr ... } in a conditional flow: T's
// parameters, per dimension, are outputs of a network of the context.
void Sema::check_conditioned_elementwise(const ast::Coupling& c, const TransformDef& t,
                                         ElementwiseSpec spec) {
  const SourceRange at = c.nets[0].key.loc;
  if (context_dim_ == 0)
    return error(at,
                 "a network in 'elementwise' computes its parameters from the context; this "
                 "flow has none (declare context = N)");
  for (const ast::Arg& a : c.args)
    error(a.key.loc, fmt::format("'{}' comes from the network: with 'net', 'elementwise {}' takes "
                                 "no initial values",
                                 a.key.text, t.name));
  spec.net = resolve_net(c);
  spec.rewrites = resolve_rewrites(c, t);
  push_layer(c.keyword, "elementwise " + t.name + " { net }", std::move(spec));
}

// dequantize(levels = L): integer data in 0..L-1 (plus uniform noise the
// runtime adds) onto [0, 1) by x / L, first of all layers so that every
// other layer sees continuous values and the log-det -D log L is counted.
void Sema::check_dequantize(const ast::Coupling& c) {
  reject_block(c);
  const ArgList args(c.args, "'dequantize'", {"levels"}, reporter());
  const std::optional<int> levels = resolve_levels(args, c.keyword, reporter());
  if (in_repeat_ || layers_seen_ > 0) {
    error(c.keyword,
          "'dequantize' must be the flow's first layer, outside 'repeat': it makes the "
          "integer data continuous before any other layer reads them");
    return;
  }
  if (!levels) return;
  spec_.format.levels = *levels;
  ElementwiseSpec spec;
  spec.transform = expression_transform(fmt::format("dequantize:{}", *levels), "dequantize",
                                        dequantize_body(*levels, c.keyword));
  spec.lo = 0;
  spec.hi = *levels;
  push_layer(c.keyword, fmt::format("dequantize(levels = {})", *levels), std::move(spec));
}

// linear: an LU-parameterised invertible linear map.
void Sema::check_linear(const ast::Coupling& c) {
  reject_block(c);
  const ArgList args(c.args, "'linear'", {}, reporter());
  push_layer(c.keyword, "linear", LinearSpec{});
}

// maf T(order = O) { net = made(...); P = expr ... }, and iaf alike.
void Sema::check_autoregressive(const ast::Coupling& c) {
  const std::string owner = "'" + c.kind + "'";
  const ArgList args =
      c.transform.text == kSplineName
          ? ArgList(c.args, owner,
                    {"order", "bins", "bound", "min_width", "min_height", "min_derivative"},
                    reporter())
          : ArgList(c.args, owner, {"order"}, reporter());
  AutoregressiveSpec spec;
  spec.inverse = c.kind == "iaf";
  spec.net = resolve_net(c, "made", &spec.residual);
  std::optional<std::vector<int>> order;
  if (const ast::Value* o = args.find("order"))
    order = resolve_order(*o);
  else
    order = identity_permutation(dim_);
  if (!resolve_transformer(c, args, spec.transformer, spec.rewrites)) return;
  if (!order) return;
  spec.order = std::move(*order);
  push_layer(c.keyword, c.kind + " " + c.transform.text, std::move(spec));
}

// order = natural | reverse | random(seed = S) | [i, ...]: the dimensions in
// autoregressive order.
std::optional<std::vector<int>> Sema::resolve_order(const ast::Value& v) {
  if (v.kind == ast::Value::Kind::name && v.text == "natural") return identity_permutation(dim_);
  if ((v.kind == ast::Value::Kind::name || v.kind == ast::Value::Kind::call) &&
      v.text != "reverse" && v.text != "random") {
    error(v.loc, fmt::format("unknown order '{}'{}", v.text,
                             did_you_mean(v.text, {"natural", "reverse", "random"})));
    return std::nullopt;
  }
  std::string label;
  return resolve_permutation(v, label);
}

// mask = alternate | halves | [0/1, ...]: one flag per dim, 1 = transformed.
std::optional<std::vector<int>> Sema::resolve_mask(const ast::Value& v, int k) {
  switch (v.kind) {
    case ast::Value::Kind::error:
      return std::nullopt;
    case ast::Value::Kind::list:
      return check_mask_list(v);
    case ast::Value::Kind::name:
      if (v.text == "alternate" || v.text == "halves") {
        if (dim_ == 0) return std::nullopt;
        if (dim_ == 1) {
          error(v.loc, fmt::format("mask '{}' needs dim >= 2, but the flow has dim 1", v.text));
          return std::nullopt;
        }
        return v.text == "alternate" ? alternate_mask(dim_, k) : halves_mask(dim_, k);
      }
      error(v.loc, fmt::format("unknown mask '{}'{}", v.text,
                               did_you_mean(v.text, {"alternate", "halves"})));
      return std::nullopt;
    case ast::Value::Kind::number:
    case ast::Value::Kind::call:
      break;
  }
  error(v.loc, fmt::format("'mask' must be 'alternate', 'halves' or a list of 0 and 1, found {}",
                           describe(v)));
  return std::nullopt;
}

std::optional<std::vector<int>> Sema::check_mask_list(const ast::Value& v) {
  std::vector<int> mask;
  bool ok = true;
  for (const ast::Value& item : v.items) {
    const std::optional<int64_t> bit = as_integer(item);
    if (!bit || (*bit != 0 && *bit != 1)) {
      if (item.kind != ast::Value::Kind::error) {
        error(item.loc, fmt::format("mask entries must be 0 or 1, found {}", describe(item)));
      }
      ok = false;
      continue;
    }
    mask.push_back(static_cast<int>(*bit));
  }
  if (dim_ != 0 && v.items.size() != static_cast<size_t>(dim_)) {
    error(v.loc, fmt::format("mask has {} entries but the flow has dim {}", v.items.size(), dim_));
    return std::nullopt;
  }
  if (!ok || dim_ == 0) return std::nullopt;
  const auto ones = std::count(mask.begin(), mask.end(), 1);
  if (ones == 0) {
    error(v.loc, "mask transforms no dimension");
    return std::nullopt;
  }
  if (ones == dim_) {
    error(v.loc,
          "mask transforms every dimension; a coupling layer needs at least one identity "
          "dimension");
    return std::nullopt;
  }
  return mask;
}

// net = mlp(hidden = [...], act = ...) ; defaults when absent. Autoregressive
// layers take net = made(hidden = [...], act = ..., residual = true|false).
MlpSpec Sema::resolve_net(const ast::Coupling& c, std::string_view kind, bool* residual) {
  for (size_t i = 1; i < c.nets.size(); ++i) {
    error(c.nets[i].key.loc, fmt::format("duplicate 'net' in {} block", c.kind));
  }
  if (c.nets.empty()) {
    MlpSpec net;
    net.loc = c.keyword;
    return net;
  }
  return resolve_net_value(c.nets[0].value, kind, residual, nullptr);
}

// The network `v` names: kind(hidden = [...], act = ...), with `residual`
// where `residual` is given (MADE) and a required `out` width where `out`
// is (the context's embedding: unset after an error).
MlpSpec Sema::resolve_net_value(const ast::Value& v, std::string_view kind, bool* residual,
                                std::optional<int>* out) {
  MlpSpec net;
  net.loc = v.loc;
  if (v.kind == ast::Value::Kind::error) return net;
  const bool named = v.kind == ast::Value::Kind::name || v.kind == ast::Value::Kind::call;
  if (!named || v.text != kind) {
    const std::string hint = named ? did_you_mean(v.text, {std::string(kind)}) : "";
    error(v.loc,
          fmt::format("unknown network {}{}", describe(v),
                      hint.empty() ? fmt::format("; expected '{}(hidden = [...], act = ...)'", kind)
                                   : hint));
    return net;
  }
  const ArgList args = residual ? ArgList(v.args, "'" + std::string(kind) + "'",
                                          {"hidden", "act", "residual"}, reporter())
                       : out    ? ArgList(v.args, "'mlp'", {"hidden", "act", "out"}, reporter())
                                : ArgList(v.args, "'mlp'", {"hidden", "act"}, reporter());
  if (const ast::Value* hidden = args.find("hidden")) resolve_hidden(*hidden, net);
  if (const ast::Value* act = args.find("act")) resolve_activation(*act, net);
  if (const ast::Value* r = residual ? args.find("residual") : nullptr) {
    if (r->kind == ast::Value::Kind::name && (r->text == "true" || r->text == "false"))
      *residual = r->text == "true";
    else if (r->kind != ast::Value::Kind::error)
      error(r->loc, fmt::format("'residual' must be true or false, found {}", describe(*r)));
  }
  if (out)
    if (const ast::Value* width = args.require("out", v.loc))
      if (auto n = integer_in_range(*width, "'out'", 1, kMaxHiddenWidth, reporter()))
        *out = static_cast<int>(*n);
  return net;
}

void Sema::resolve_hidden(const ast::Value& v, MlpSpec& net) {
  if (v.kind == ast::Value::Kind::error) return;
  if (v.kind != ast::Value::Kind::list) {
    error(v.loc, fmt::format("'hidden' must be a list of layer widths, found {}", describe(v)));
    return;
  }
  net.hidden.clear();
  for (const ast::Value& item : v.items) {
    if (auto width = integer_in_range(item, "hidden layer width", 1, kMaxHiddenWidth, reporter())) {
      net.hidden.push_back(static_cast<int>(*width));
    }
  }
}

void Sema::resolve_activation(const ast::Value& v, MlpSpec& net) {
  if (v.kind == ast::Value::Kind::error) return;
  std::vector<std::string> names;
  for (const auto& [name, act] : kActivations) {
    if (v.kind == ast::Value::Kind::name && v.text == name) {
      net.act = act;
      return;
    }
    names.emplace_back(name);
  }
  std::string hint = v.kind == ast::Value::Kind::name ? did_you_mean(v.text, names) : "";
  if (hint.empty()) hint = "; expected relu, tanh, elu, gelu, sigmoid or softplus";
  error(v.loc, fmt::format("unknown activation {}{}", describe(v), hint));
}

// P = expr: P is a parameter of the transform; expr uses its parameters only.
std::vector<ParamRewrite> Sema::resolve_rewrites(const ast::Coupling& c, const TransformDef& t) {
  std::vector<ParamRewrite> out;
  std::set<std::string> seen;
  const auto is_param = [&](const std::string& name) {
    return std::find(t.params.begin(), t.params.end(), name) != t.params.end();
  };
  for (const ast::Assignment& rw : c.rewrites) {
    const std::string& p = rw.target.text;
    if (!is_param(p)) {
      error(rw.target.loc, fmt::format("'{}' is not a parameter of transform '{}'{}", p, t.name,
                                       did_you_mean(p, t.params)));
      continue;
    }
    if (!seen.insert(p).second) {
      error(rw.target.loc, fmt::format("duplicate rewrite of '{}'", p));
      continue;
    }
    if (!rw.expr) continue;
    check_expr(
        *rw.expr,
        [&](const Expr& use) -> std::string {
          const std::string& name = use.name;
          if (is_param(name)) {
            if (use.kind != Expr::Kind::index) return "";
            return fmt::format("'{}' is not a vector and cannot be indexed", name);
          }
          std::string outside = used_outside_maps(name, "a coupling rewrite");
          if (!outside.empty()) return outside;
          std::string hint = did_you_mean(name, t.params);
          if (hint.empty())
            hint = fmt::format("; a rewrite may use only the parameters of '{}'", t.name);
          return fmt::format("unknown name '{}' in rewrite of '{}'{}", name, p, hint);
        },
        reporter(), transform_names_);
    out.push_back(ParamRewrite{p, rw.expr, rw.target.loc});
  }
  return out;
}

// permute reverse | random(seed = N) | [i, ...]
void Sema::check_layer(const ast::Permute& p) {
  std::string label = "permute";
  std::optional<std::vector<int>> perm = resolve_permutation(p.spec, label);
  if (perm) push_layer(p.keyword, std::move(label), PermuteSpec{std::move(*perm)});
}

// actnorm: no arguments; its tensors are declared with the graph.
void Sema::check_layer(const ast::ActNorm& a) {
  push_layer(a.keyword, "actnorm", ActNormSpec{});
}

std::optional<std::vector<int>> Sema::resolve_permutation(const ast::Value& v, std::string& label) {
  const bool named = v.kind == ast::Value::Kind::name || v.kind == ast::Value::Kind::call;
  if (v.kind == ast::Value::Kind::error) return std::nullopt;
  if (v.kind == ast::Value::Kind::list) {
    label += " list";
    return check_permutation_list(v);
  }
  if (named && v.text == "reverse") {
    label += " reverse";
    ArgList(v.args, "'reverse'", {}, reporter());
    if (dim_ == 0) return std::nullopt;
    return reverse_permutation(dim_);
  }
  if (named && v.text == "random") {
    label += " random";
    return random_permutation_of(v);
  }
  std::string hint = named ? did_you_mean(v.text, {"reverse", "random"}) : "";
  if (hint.empty()) hint = "; expected 'reverse', 'random(seed = N)' or a list of indices";
  error(v.loc, fmt::format("unknown permutation {}{}", describe(v), hint));
  return std::nullopt;
}

std::optional<std::vector<int>> Sema::random_permutation_of(const ast::Value& v) {
  const ArgList args(v.args, "'random'", {"seed"}, reporter());
  const ast::Value* seed = args.require("seed", v.loc);
  if (!seed) return std::nullopt;
  const auto s = integer_in_range(*seed, "'seed'", 0, INT64_MAX, reporter());
  if (!s || dim_ == 0) return std::nullopt;
  return random_permutation(dim_, static_cast<uint64_t>(*s));
}

std::optional<std::vector<int>> Sema::check_permutation_list(const ast::Value& v) {
  if (dim_ != 0 && v.items.size() != static_cast<size_t>(dim_)) {
    error(v.loc,
          fmt::format("permutation has {} entries but the flow has dim {}", v.items.size(), dim_));
    return std::nullopt;
  }
  std::vector<int> perm;
  std::set<int64_t> seen;
  bool ok = true;
  for (const ast::Value& item : v.items) {
    const std::optional<int64_t> i = as_integer(item);
    if (!i) {
      if (item.kind != ast::Value::Kind::error) {
        error(item.loc,
              fmt::format("permutation entries must be integers, found {}", describe(item)));
      }
      ok = false;
    } else if (*i < 0 || (dim_ != 0 && *i >= dim_)) {
      error(item.loc,
            fmt::format("permutation entry {} is out of range for dim {}", item.text, dim_));
      ok = false;
    } else if (!seen.insert(*i).second) {
      error(item.loc, fmt::format("permutation repeats entry {}", *i));
      ok = false;
    } else {
      perm.push_back(static_cast<int>(*i));
    }
  }
  if (!ok || dim_ == 0) return std::nullopt;
  return perm;
}

// map { param ...; let NAME = expr; zK = expr ... }: each z0..z{dim-1}
// exactly once, over x0..x{dim-1}, the flow's and the map's parameters and
// the lets defined before.
void Sema::check_layer(const ast::Map& m) {
  Scope local;
  MapSpec spec = check_map_declarations(m, local);
  std::set<std::string> used;  // names the lets and outputs mention
  check_map_lets(m, local, spec, used);
  std::vector<const ast::Assignment*> defs(static_cast<size_t>(dim_), nullptr);
  std::vector<const ast::Assignment*> duplicates;
  std::set<int64_t> seen;
  for (const ast::Assignment& def : m.defs) {
    const std::string& name = def.target.text;
    const std::optional<int64_t> k = indexed_name(name, 'z');
    if (!k) {
      error(def.target.loc, fmt::format("unknown map output '{}'; outputs are named {}", name,
                                        dim_ ? index_range('z', dim_) : "z0, z1, ..."));
      continue;
    }
    if (dim_ != 0 && *k >= dim_) {
      error(def.target.loc, fmt::format("'{}' is out of range: the flow has dim {} ({})", name,
                                        dim_, index_range('z', dim_)));
      continue;
    }
    if (!seen.insert(*k).second) {
      duplicates.push_back(&def);  // reported below, with the output it may have meant
      continue;
    }
    if (dim_ != 0) defs[static_cast<size_t>(*k)] = &def;
    if (!def.expr) continue;
    // The lets written before this output.
    size_t visible = 0;
    while (visible < m.lets.size() && before(m.lets[visible].name.loc, def.target.loc)) ++visible;
    check_expr(
        *def.expr,
        [&](const Expr& use) {
          return check_map_name(use, local, m.keyword, visible, std::nullopt);
        },
        reporter(), transform_names_);
    collect_names(*def.expr, used);
  }
  used_in_maps_.insert(used.begin(), used.end());
  warn_unused_locals(m, used);
  // A second `z0 = ...` where z1 is missing is most likely the z1: say so
  // there, rather than "map does not define 'z1'" at the map keyword.
  size_t missing = 0;
  while (missing < defs.size() && defs[missing]) ++missing;
  for (const ast::Assignment* d : duplicates)
    error(d->target.loc,
          missing < defs.size()
              ? fmt::format("duplicate definition of '{}'; the map does not define 'z{}' (is "
                            "this it?)",
                            d->target.text, missing)
              : fmt::format("duplicate definition of '{}'", d->target.text));
  if (dim_ == 0) return;
  if (duplicates.empty()) report_missing_outputs(m, defs);
  for (const ast::Assignment* def : defs) {
    if (!def) return;
    spec.outputs.push_back(def->expr);
    spec.output_locs.push_back(def->target.loc);
  }
  push_layer(m.keyword, "map", std::move(spec));
}

// The map's parameters and lets enter `local` (params first: they may be
// used anywhere in the map; lets are ordered, see check_map_name).
MapSpec Sema::check_map_declarations(const ast::Map& m, Scope& local) {
  MapSpec spec;
  for (const ast::Param& p : m.params) {
    Declared d = declared(Declared::Kind::map_param, p.name.loc, m.keyword);
    std::optional<ParamDecl> decl;
    if (!p.broken) decl = resolve_param(p, reporter());
    if (decl) {
      d.is_vector = decl->is_vector;
      d.size = static_cast<int>(decl->init.size());
    }
    if (declare(local, p.name, d) && decl) spec.params.push_back(std::move(*decl));
  }
  for (size_t i = 0; i < m.lets.size(); ++i) {
    Declared d = declared(Declared::Kind::let, m.lets[i].name.loc, m.keyword);
    d.let_index = i;
    declare(local, m.lets[i].name, d);
  }
  return spec;
}

// let NAME = expr: each may use the lets before it.
void Sema::check_map_lets(const ast::Map& m, const Scope& local, MapSpec& spec,
                          std::set<std::string>& used) {
  for (size_t i = 0; i < m.lets.size(); ++i) {
    const ast::Let& let = m.lets[i];
    if (!let.expr) continue;
    check_expr(
        *let.expr, [&](const Expr& use) { return check_map_name(use, local, m.keyword, i, i); },
        reporter(), transform_names_);
    collect_names(*let.expr, used);
    spec.lets.push_back(LetBinding{let.name.text, let.expr, let.name.loc});
  }
}

void Sema::warn_unused_locals(const ast::Map& m, const std::set<std::string>& used) {
  for (const ast::Param& p : m.params) {
    if (!p.name.text.empty() && !used.contains(p.name.text)) {
      warn_unused(p.name.loc, fmt::format("parameter '{}' is never used", p.name.text));
    }
  }
  for (const ast::Let& l : m.lets) {
    if (!used.contains(l.name.text)) {
      warn_unused(l.name.loc, fmt::format("let '{}' is never used", l.name.text));
    }
  }
}

// A name in a map expression of the map at `map`: an input, a parameter (of
// the flow or this map) used by its shape, or one of the first
// `visible_lets` lets. `current_let`: the let whose expression this is.
std::string Sema::check_map_name(const Expr& use, const Scope& local, SourceRange map,
                                 size_t visible_lets, std::optional<size_t> current_let) const {
  const std::string& name = use.name;
  if (const std::optional<int64_t> k = indexed_name(name, 'x')) {
    if (dim_ != 0 && *k >= dim_) {
      return fmt::format("'{}' is out of range: the flow has dim {} ({})", name, dim_,
                         index_range('x', dim_));
    }
    if (use.kind == Expr::Kind::index) {
      return fmt::format("'{}' is an input, not a vector: it cannot be indexed", name);
    }
    return "";
  }
  if (const std::optional<int64_t> k = indexed_name(name, 'c'); k && context_dim_ > 0) {
    if (*k >= context_dim_) {
      return fmt::format("'{}' is out of range: the flow has context {} ({})", name, context_dim_,
                         index_range('c', context_dim_));
    }
    if (use.kind == Expr::Kind::index) {
      return fmt::format("'{}' is a context value, not a vector: it cannot be indexed", name);
    }
    return "";
  }
  if (const auto it = local.find(name); it != local.end()) {
    const Declared& d = it->second;
    if (d.kind != Declared::Kind::let) return check_param_use(use, d);
    if (current_let && d.let_index == *current_let) {
      return fmt::format("let '{}' is used in its own definition", name);
    }
    if (d.let_index >= visible_lets) {
      return fmt::format("let '{}' is used before its definition on line {}", name, d.loc.line);
    }
    if (use.kind == Expr::Kind::index) {
      return fmt::format("let '{}' is a scalar and cannot be indexed", name);
    }
    return "";
  }
  if (const auto it = flow_scope_.find(name); it != flow_scope_.end()) {
    return check_param_use(use, it->second);
  }
  if (const auto it = map_names_.find(name); it != map_names_.end()) {
    for (const Declared& d : it->second) {
      // Declared in this map but refused (reported at the declaration).
      if (same_place(d.map, map)) return "";
    }
    const Declared& d = it->second.front();
    return fmt::format("'{}' is {} of the map on line {}; {}", name,
                       d.kind == Declared::Kind::let ? "a let" : "a parameter", d.map.line,
                       d.kind == Declared::Kind::let
                           ? "a let can only be used in its own map"
                           : "declare it at the top level of the flow to share it between maps");
  }
  std::vector<std::string> known;
  for (const auto& [n, d] : local) known.push_back(n);
  for (const auto& [n, d] : flow_scope_) known.push_back(n);
  const std::string hint = did_you_mean(name, known);
  if (!hint.empty()) return fmt::format("unknown name '{}' in map{}", name, hint);
  return fmt::format("unknown name '{}' in map; inputs are named {}", name,
                     dim_ ? index_range('x', dim_) : "x0, x1, ...");
}

// One error naming the first few undefined outputs.
void Sema::report_missing_outputs(const ast::Map& m,
                                  const std::vector<const ast::Assignment*>& defs) {
  constexpr int kShown = 4;
  std::vector<std::string> missing;
  for (size_t k = 0; k < defs.size(); ++k) {
    if (!defs[k]) missing.push_back(fmt::format("'z{}'", k));
  }
  if (missing.empty()) return;
  std::string list;
  for (int i = 0; i < std::min<int>(kShown, static_cast<int>(missing.size())); ++i) {
    list += (i ? ", " : "") + missing[static_cast<size_t>(i)];
  }
  if (missing.size() > static_cast<size_t>(kShown)) {
    list += fmt::format(" and {} more", missing.size() - kShown);
  }
  error(m.keyword, fmt::format("map does not define {}", list));
}

void Sema::push_layer(SourceRange loc, std::string label, decltype(LayerSpec::kind) kind) {
  ++layers_seen_;
  if (building_) spec_.layers.push_back(LayerSpec{loc, std::move(label), std::move(kind)});
}

}  // namespace

std::optional<FlowSpec> analyze(const ast::File& prelude, const ast::File& file,
                                Diagnostics& diags) {
  Sema sema;
  std::optional<FlowSpec> spec = sema.run(prelude, file);
  std::vector<Diagnostic>& errors = sema.errors();
  std::stable_sort(errors.begin(), errors.end(),
                   [](const Diagnostic& a, const Diagnostic& b) { return before(a.at, b.at); });
  for (Diagnostic& d : errors) diags.error(d.at, std::move(d.message));
  if (!errors.empty() || diags.has_errors()) return std::nullopt;
  // "never used" only for otherwise valid files: after a syntax error a use
  // may simply have been lost.
  std::vector<Diagnostic>& unused = sema.unused();
  std::stable_sort(unused.begin(), unused.end(),
                   [](const Diagnostic& a, const Diagnostic& b) { return before(a.at, b.at); });
  for (Diagnostic& d : unused) diags.warning(d.at, std::move(d.message));
  return spec;
}

}  // namespace nfc
