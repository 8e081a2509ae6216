// Checking `target` declarations: the names a target's expressions may use
// (x, x0.., its tables, parameters and lets), `logp` defined once, and the
// target's dim against the flow's. Shapes (how many values each expression
// has) depend on the tables' files and are checked when the graph is built
// (compiler/layers/Target.cpp).
#pragma once

#include <optional>
#include <vector>

#include "compiler/sema/FlowSpec.hpp"
#include "compiler/sema/SemaArgs.hpp"
#include "dsl/Ast.hpp"

namespace nfc {

// The targets of a file, each checked against a flow of dimension `dim`
// (0: unknown, dim-dependent checks skipped). Every problem goes to
// `report`; a target with one is left out of the result.
std::vector<TargetSpec> check_targets(const std::vector<ast::Target>& targets, int dim,
                                      const Reporter& report);

}  // namespace nfc
