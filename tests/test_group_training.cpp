// The Trainer's data-parallel path without MPI: a Communicator over threads
// of one process (what a host program could bring), each thread a rank
// that holds its shard of the rows only. N ranks must train the parameters
// one trainer trains, validate to the same NLL, initialise ActNorm from the
// same first batch, standardise with the whole data's statistics and stop
// together. (tests/test_mpi.cpp runs the same under a real mpirun.)
#include <barrier>
#include <catch2/catch.hpp>
#include <cmath>
#include <thread>

#include "driver/Compile.hpp"
#include "runtime/Communicator.hpp"
#include "runtime/DataError.hpp"
#include "runtime/Trainer.hpp"
#include "runtime/io/Dataset.hpp"
#include "runtime/io/Standardize.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;

namespace {

// Ranks as threads. A sum adds every rank's values in rank order (the same
// result on every rank, as MPI_Allreduce gives); two barriers separate
// publishing, reading and overwriting.
class ThreadGroup {
 public:
  explicit ThreadGroup(int size)
      : size_(size), sync_(size), values_(size_t(size)), texts_(size_t(size)) {}

  class Rank final : public Communicator {
   public:
    Rank(ThreadGroup& g, int rank) : g_(g), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return g_.size_; }
    void sum(double* values, int64_t n) override {
      g_.values_[size_t(rank_)] = values;
      g_.sync_.arrive_and_wait();
      std::vector<double> total(size_t(n), 0.0);
      for (int r = 0; r < g_.size_; ++r)
        for (int64_t i = 0; i < n; ++i) total[size_t(i)] += g_.values_[size_t(r)][i];
      g_.sync_.arrive_and_wait();
      std::copy(total.begin(), total.end(), values);
    }
    std::vector<std::string> gather(const std::string& text) override {
      g_.texts_[size_t(rank_)] = text;
      g_.sync_.arrive_and_wait();
      std::vector<std::string> all = g_.texts_;
      g_.sync_.arrive_and_wait();
      return all;
    }
    [[noreturn]] void abort(int) override { std::abort(); }

   private:
    ThreadGroup& g_;
    int rank_;
  };

  // Runs `work(rank)` on one thread per rank and waits for all.
  template <class Work>
  void run(Work work) {
    std::vector<std::thread> threads;
    for (int r = 0; r < size_; ++r)
      threads.emplace_back([&, r] {
        Rank rank(*this, r);
        work(rank);
      });
    for (auto& t : threads) t.join();
  }

 private:
  int size_;
  std::barrier<> sync_;
  std::vector<double*> values_;
  std::vector<std::string> texts_;
};

TrainOptions options() {
  TrainOptions o;
  o.steps = 60;
  o.batch = 96;
  o.eval_every = 20;
  o.seed = 11;
  o.val_frac = 0.2;
  o.optimizer.lr = 3e-3;
  return o;
}

struct Result {
  std::vector<double> params;
  TrainState state;
  Standardizer standardizer;
};

// One rank's run (group null: the single process) on builtin:moons,
// standardised with the whole data's statistics.
Result train(const CompiledModel& m, Communicator* group) {
  Dataset data = load_dataset("builtin:moons", 4, 1001, group);
  Result out{{}, {}, Standardizer::fit(data, 2, group)};
  out.standardizer.apply(data);
  Flow<double> flow = make_flow<double>(m);
  flow.init_params(3);
  TrainOptions o = options();
  o.group = group;
  o.group_rows = data.all_rows;
  Trainer<double> trainer(flow, std::move(data), o);
  trainer.run(out.state, [](const TrainEvent&) { return true; });
  out.params = flow.params();
  return out;
}

}  // namespace

TEST_CASE("ranks over threads train the parameters one trainer trains", "[training][group]") {
  auto m = test::compile_or_fail(test::kActNormMixture, Precision::f64);
  const Result one = train(*m, nullptr);
  for (int size : {2, 3}) {
    INFO(size << " ranks");
    std::vector<Result> ranks(size_t(size), Result{});
    ThreadGroup group(size);
    group.run([&](ThreadGroup::Rank& rank) { ranks[size_t(rank.rank())] = train(*m, &rank); });
    for (const Result& r : ranks) {
      // Summation order is all that differs: f64 rounding, not drift.
      CHECK(test::max_relative_difference(one.params, r.params) < 1e-10);
      CHECK(r.params == ranks[0].params);  // every rank takes the same step
      REQUIRE(r.state.history.size() == one.state.history.size());
      for (size_t i = 0; i < one.state.history.size(); ++i) {
        CHECK(r.state.history[i].val_nll == Approx(one.state.history[i].val_nll).epsilon(1e-12));
        CHECK(r.state.history[i].train_nll ==
              Approx(one.state.history[i].train_nll).epsilon(1e-12));
      }
      CHECK(r.state.best_step == one.state.best_step);
      for (int j = 0; j < 2; ++j) {
        CHECK(r.standardizer.mean[size_t(j)] ==
              Approx(one.standardizer.mean[size_t(j)]).epsilon(1e-14));
        CHECK(r.standardizer.scale[size_t(j)] ==
              Approx(one.standardizer.scale[size_t(j)]).epsilon(1e-14));
      }
    }
  }
}

TEST_CASE("a group's shard must be the rank's share of the rows", "[training][group]") {
  auto m = test::compile_or_fail(test::kActNormMixture, Precision::f64);
  ThreadGroup group(2);
  std::vector<std::string> errors(2);
  group.run([&](ThreadGroup::Rank& rank) {
    Flow<double> flow = make_flow<double>(*m);
    TrainOptions o = options();
    o.group = &rank;
    o.group_rows = 1001;
    // The whole table where the shard belongs.
    try {
      Trainer<double> trainer(flow, load_dataset("builtin:moons", 4, 1001), o);
    } catch (const DataError& e) {
      errors[size_t(rank.rank())] = e.what();
    }
  });
  CHECK(errors[0] == "training data: a shard of 1001 rows where rank 0 holds 500");
  CHECK(errors[1] == "training data: a shard of 1001 rows where rank 1 holds 501");
}
