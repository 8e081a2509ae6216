// Readable forms of the graph for `nfc compile --dump=graph` and for tests:
// infix for small derived expressions, an SSA listing for whole programs.
#pragma once

#include <ostream>
#include <string>

#include "compiler/ir/Graph.hpp"
#include "compiler/ir/Program.hpp"

namespace nfc {

// `x * exp(s) + t`. Leaves print as their names: vars by name, inputs as
// x/z, params by tensor name; structural ops in a function-like form.
// Cut with "…" past about `max_chars` characters or 64 levels of nesting:
// the text is for people, and a shared subexpression prints once per use.
std::string to_infix(const Graph& g, NodeId id, size_t max_chars = 400);

// One line per node, operands first: `%12 = add(%11, layer0.net.b1)  [64]`.
void print_listing(std::ostream& out, const Graph& g, const EntryPoint& entry);

}  // namespace nfc
