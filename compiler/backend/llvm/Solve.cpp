// solve nodes: x with f(x) = target for every lane, by the interpreter's
// safeguarded Newton-bisection as emitted loops over all W lanes at once.
#include <cfloat>
#include <limits>
#include <unordered_map>

#include "compiler/analysis/LoopBodies.hpp"
#include "compiler/backend/llvm/FunctionLowering.hpp"

namespace nfc::llvm_lowering {

// One element of a solve being lowered: the solve's body, its target t
// and the body's operands from outside it (read once, before the loops).
struct FunctionLowering::SolveElement {
  const SolveBody& body;
  Value* t;
  std::unordered_map<NodeId, Value*> context;
};

// Safeguarded Newton-bisection for f(x) = target (Ops.def), step for step
// like the interpreter's newton_bisection, on all W lanes at once: each
// phase is an emitted loop whose state (bracket, f at its ends, iterate) is
// carried in phis, with a per-lane mask of the lanes still moving; lanes
// that are done keep their values (selects) and the loop exits as soon as
// no lane is active, or after the budget (128 doublings, 100 steps). Dead
// lanes (past n) start inactive. Inside the loops the x-dependent subgraph
// of f (and dfdx) is lowered at element k with x bound to the iterate; the
// context operands are read once, before the loops.
void FunctionLowering::emit_solve(NodeId id) {
  const Node& n = g_.node(id);
  const SolveBody body = solve_body(g_, id);
  const NodeId target = n.args[0];
  Value* zero = splat_const(0);
  Value* half = splat_const(0.5);

  for_each(n.len, [&](Value* k) {
    SolveElement e{body, element(target, k), {}};
    for (NodeId a : body.reads) e.context[a] = element(a, k);
    const Values bracket = solve_bracket(e);
    Value* lo_zero = B_.CreateFCmpOEQ(bracket[2], zero);
    Value* hi_zero = B_.CreateFCmpOEQ(bracket[3], zero);

    // Newton steps, bisecting where a step leaves the bracket; state
    // {lo, hi, flo, x, active}.
    Value* active0 = B_.CreateAnd(mask_, B_.CreateNot(B_.CreateOr(lo_zero, hi_zero)));
    Value* x0 = B_.CreateFMul(half, B_.CreateFAdd(bracket[0], bracket[1]));
    const Values newton = solve_loop(
        {bracket[0], bracket[1], bracket[2], x0, active0}, 100,
        [&](const Values& s) { return s[4]; },
        [&](const Values& s, Value* active) { return newton_step(e, s, active); });
    Value* result =
        B_.CreateSelect(lo_zero, bracket[0], B_.CreateSelect(hi_zero, bracket[1], newton[3]));
    // No bracket (t outside f's image, or f undefined there): NaN, as
    // NewtonBisection.hpp returns. `!(flo > 0 != fhi > 0)` is also true
    // where a residual is NaN.
    Value* bracketed =
        B_.CreateXor(B_.CreateFCmpOGT(bracket[2], zero), B_.CreateFCmpOGT(bracket[3], zero));
    Value* found = B_.CreateOr(bracketed, B_.CreateOr(lo_zero, hi_zero));
    // Lanes still moving after the budget did not converge: NaN too.
    found = B_.CreateAnd(found, B_.CreateNot(newton[4]));
    result = B_.CreateSelect(found, result, splat_const(std::numeric_limits<double>::quiet_NaN()));
    define(id, k, result);
  });
}

// The x-dependent nodes in `nodes` at the iterate xv; returns the map.
std::unordered_map<NodeId, Value*> FunctionLowering::solve_evaluate(
    const SolveElement& e, const std::vector<NodeId>& nodes, Value* xv) {
  std::unordered_map<NodeId, Value*> v = e.context;
  v[e.body.x] = xv;
  for (NodeId j : nodes) {
    const Node& jn = g_.node(j);
    Value* ops[3] = {nullptr, nullptr, nullptr};
    for (size_t i = 0; i < jn.args.size() && i < 3; ++i) ops[i] = v.at(jn.args[i]);
    v[j] = jn.op == Op::broadcast ? ops[0] : lower_elementwise(jn.op, ops[0], ops[1], ops[2]);
  }
  return v;
}

// f(xv) - t.
Value* FunctionLowering::solve_residual(const SolveElement& e, Value* xv) {
  return B_.CreateFSub(solve_evaluate(e, e.body.f_nodes, xv).at(e.body.f), e.t);
}

// A loop while any lane of the mask `active(state)` is set, at most
// `budget` times; `step` maps the state to the next one. Returns the
// state at exit.
Values FunctionLowering::solve_loop(Values state, int budget,
                                    const std::function<Value*(const Values&)>& active,
                                    const std::function<Values(const Values&, Value* mask)>& step) {
  llvm::BasicBlock* pre = B_.GetInsertBlock();
  auto* header = llvm::BasicBlock::Create(ctx_, "solve.loop", F_);
  auto* body = llvm::BasicBlock::Create(ctx_, "solve.body", F_);
  auto* done = llvm::BasicBlock::Create(ctx_, "solve.end", F_);
  B_.CreateBr(header);
  B_.SetInsertPoint(header);
  llvm::PHINode* i = B_.CreatePHI(B_.getInt32Ty(), 2, "iter");
  i->addIncoming(B_.getInt32(0), pre);
  std::vector<llvm::PHINode*> phis;
  Values current;
  for (Value* s : state) {
    phis.push_back(B_.CreatePHI(s->getType(), 2));
    phis.back()->addIncoming(s, pre);
    current.push_back(phis.back());
  }
  Value* mask = active(current);
  Value* go = B_.CreateAnd(B_.CreateICmpSLT(i, B_.getInt32(budget)), B_.CreateOrReduce(mask));
  B_.CreateCondBr(go, body, done);
  B_.SetInsertPoint(body);
  Values next = step(current, mask);
  Value* i_next = B_.CreateNSWAdd(i, B_.getInt32(1));
  llvm::BasicBlock* latch = B_.GetInsertBlock();
  B_.CreateBr(header);
  i->addIncoming(i_next, latch);
  for (size_t s = 0; s < phis.size(); ++s) phis[s]->addIncoming(next[s], latch);
  B_.SetInsertPoint(done);
  return current;
}

// Bracketing: double [lo, hi] on both sides while f - t has one sign at
// both ends and is 0 at neither. Returns {lo, hi, f(lo) - t, f(hi) - t}.
Values FunctionLowering::solve_bracket(const SolveElement& e) {
  Value* zero = splat_const(0);
  Value* lo0 = splat_const(-1);
  Value* hi0 = splat_const(1);
  return solve_loop(
      {lo0, hi0, solve_residual(e, lo0), solve_residual(e, hi0)}, 128,
      [&](const Values& s) {
        Value* same = B_.CreateICmpEQ(B_.CreateFCmpOGT(s[2], zero), B_.CreateFCmpOGT(s[3], zero));
        Value* nonzero = B_.CreateAnd(B_.CreateFCmpUNE(s[2], zero), B_.CreateFCmpUNE(s[3], zero));
        return B_.CreateAnd(mask_, B_.CreateAnd(same, nonzero));
      },
      [&](const Values& s, Value* grow) {
        Value* w = B_.CreateFSub(s[1], s[0]);
        Value* lo = B_.CreateSelect(grow, B_.CreateFSub(s[0], w), s[0]);
        Value* hi = B_.CreateSelect(grow, B_.CreateFAdd(s[1], w), s[1]);
        return Values{lo, hi, B_.CreateSelect(grow, solve_residual(e, lo), s[2]),
                      B_.CreateSelect(grow, solve_residual(e, hi), s[3])};
      });
}

// One Newton step on the lanes of `active`, bisecting where the step leaves
// the bracket: state {lo, hi, flo, x, active} to the next.
Values FunctionLowering::newton_step(const SolveElement& e, const Values& s, Value* active) {
  Value* zero = splat_const(0);
  Value* half = splat_const(0.5);
  Value* tol =
      splat_const(precision_ == Precision::f32 ? 4 * double{FLT_EPSILON} : 4 * DBL_EPSILON);
  Value *lo = s[0], *hi = s[1], *flo = s[2], *xv = s[3];
  const auto v = solve_evaluate(e, e.body.nodes, xv);
  Value* fx = B_.CreateFSub(v.at(e.body.f), e.t);
  Value* d = v.at(e.body.dfdx);
  Value* root = B_.CreateFCmpOEQ(fx, zero);
  // The root lies between x and hi where f - t has the sign of f(lo) - t.
  Value* same = B_.CreateICmpEQ(B_.CreateFCmpOGT(fx, zero), B_.CreateFCmpOGT(flo, zero));
  Value* lo1 = B_.CreateSelect(same, xv, lo);
  Value* flo1 = B_.CreateSelect(same, fx, flo);
  Value* hi1 = B_.CreateSelect(same, hi, xv);
  Value* next = B_.CreateFSub(xv, B_.CreateFDiv(fx, d));
  // std::min(lo, hi) and std::max(lo, hi).
  Value* min = B_.CreateSelect(B_.CreateFCmpOLT(hi1, lo1), hi1, lo1);
  Value* max = B_.CreateSelect(B_.CreateFCmpOLT(lo1, hi1), hi1, lo1);
  Value* inside = B_.CreateAnd(B_.CreateFCmpOGT(next, min), B_.CreateFCmpOLT(next, max));
  next = B_.CreateSelect(inside, next, B_.CreateFMul(half, B_.CreateFAdd(lo1, hi1)));
  Value* step = unary_intrinsic(llvm::Intrinsic::fabs, B_.CreateFSub(next, xv));
  Value* bound =
      B_.CreateFMul(tol, B_.CreateFAdd(splat_const(1), unary_intrinsic(llvm::Intrinsic::fabs, xv)));
  Value* converged = B_.CreateFCmpOLE(step, bound);
  Value* move = B_.CreateAnd(active, B_.CreateNot(root));
  return Values{B_.CreateSelect(move, lo1, lo), B_.CreateSelect(move, hi1, hi),
                B_.CreateSelect(move, flo1, flo), B_.CreateSelect(move, next, xv),
                B_.CreateAnd(move, B_.CreateNot(converged))};
}

}  // namespace nfc::llvm_lowering
