// Bridges between a compiled flow and data in the user's coordinates: the
// flow works on standardised data when the checkpoint says so, and these
// helpers put standardisation (and its log-det) in or take it out.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "plot/ImageGrid.hpp"
#include "runtime/Dequantize.hpp"
#include "runtime/io/Checkpoint.hpp"
#include "runtime/io/Dataset.hpp"
#include "tools/Cli.hpp"

namespace nfc::cli {

template <class T>
struct ReadyFlow {
  Flow<T> flow;
  std::optional<Standardizer> standardizer;
  std::string training;  // the checkpoint's nfc.training summary (JSON), if any
};

// The model's flow with parameters from `params_path`, or freshly
// initialised from `init_seed` when the path is empty, running batches on
// `threads` threads.
template <class T>
ReadyFlow<T> ready_flow(const LoadedModel& m, const std::string& params_path, uint64_t init_seed,
                        int threads = 1) {
  ReadyFlow<T> r{make_flow<T>(*m.compiled), std::nullopt, {}};
  r.flow.set_threads(threads);
  if (params_path.empty()) {
    r.flow.init_params(init_seed);
    return r;
  }
  SavedParams saved =
      load_params(params_path, r.flow.param_table(), r.flow.dim(), r.flow.context_dim());
  if (!saved.source_hash.empty() && saved.source_hash != m.source_hash)
    std::fprintf(stderr,
                 "nfc: note: '%s' was trained from a different version of the model source "
                 "(its tensors match, so it is used)\n",
                 params_path.c_str());
  for (size_t i = 0; i < saved.values.size(); ++i)
    r.flow.params()[i] = static_cast<T>(saved.values[i]);
  r.standardizer = saved.standardizer;
  r.training = saved.training;
  return r;
}

// Loads data and checks it fits the flow: dim columns, then the context's
// context_dim columns for a conditional flow; with `levels` (a dequantised
// flow) every x value an integer level. With a group: this rank's shard
// (load_dataset), which alone is checked.
inline Dataset load_model_data(const std::string& spec, int dim, uint64_t seed, int64_t rows,
                               int context_dim = 0, int levels = 0,
                               const Communicator* group = nullptr) {
  Dataset d = load_dataset(spec, seed, rows, group);
  if (d.cols != dim + context_dim)
    throw UserError(spec + ": the data have " + std::to_string(d.cols) + " columns, the model " +
                    (context_dim == 0 ? "has dim " + std::to_string(dim)
                                      : "needs " + std::to_string(dim + context_dim) + " (dim " +
                                            std::to_string(dim) + ", then context " +
                                            std::to_string(context_dim) + ")"));
  if (levels > 0)
    if (const std::string where = first_non_level(d, dim, levels); !where.empty())
      throw UserError(spec + ": " + where +
                      " (the model's 'dequantize(levels = " + std::to_string(levels) + ")')");
  return d;
}

// The data loaded for `flow` (its dim, context and levels). With a
// `context_file` (a conditional flow whose data file holds x only: IDX
// images and their labels), each row's context comes from the same row of
// that file. With a group: this rank's shard of both.
template <class T>
Dataset load_flow_data(const Flow<T>& flow, const std::string& spec, uint64_t seed, int64_t rows,
                       const std::string& context_file = {}, const Communicator* group = nullptr) {
  const int levels = flow.format().levels;
  if (context_file.empty())
    return load_model_data(spec, flow.dim(), seed, rows, flow.context_dim(), levels, group);
  if (flow.context_dim() == 0)
    throw UserError("'" + flow.name() + "' has no context; --context-file needs a flow declared " +
                    "with context = N");
  const Dataset x = load_model_data(spec, flow.dim(), seed, rows, 0, levels, group);
  const Dataset c = load_dataset(context_file, 0, 10000, group);
  if (c.cols != flow.context_dim())
    throw UserError(context_file + ": the context file has " + std::to_string(c.cols) +
                    " columns, the model's context has " + std::to_string(flow.context_dim()));
  if (c.all_rows != x.all_rows)
    throw UserError(context_file + ": " + std::to_string(c.all_rows) + " rows of context for the " +
                    std::to_string(x.all_rows) + " rows of " + spec);
  // Joined in memory, as doubles: each row is x, then its context.
  const int cols = x.cols + c.cols;
  std::vector<double> joined(size_t(x.rows) * size_t(cols));
  for (int64_t r = 0; r < x.rows; ++r) {
    x.read_rows(r, 1, &joined[size_t(r * cols)]);
    c.read_rows(r, 1, &joined[size_t(r * cols + x.cols)]);
  }
  Dataset d(spec, RowTable(x.rows, cols, std::move(joined)));
  d.all_rows = x.all_rows;
  return d;
}

// The context of `nfc sample`: --context V,V,... (one row for every
// sample) or --context-file F (one row per sample). Checked against the
// model's context length; empty for an unconditional model.
struct SampleContext {
  std::vector<double> values;  // C values, or rows x C
  int64_t rows = 0;            // rows given (1 for --context)
};
SampleContext sample_context(const std::string& name, int context_dim,
                             const std::vector<double>& inline_values, const std::string& file);

// log p(x) for rows in data coordinates; for a dequantised flow the bound
// log p(x + u) with one noise draw u per row from `noise_seed`. Read in
// blocks: a mapped file is not copied whole.
template <class T>
std::vector<double> data_log_prob(const ReadyFlow<T>& r, const RowTable& rows,
                                  uint64_t noise_seed = 1) {
  Random rng(noise_seed);
  const double correction = r.standardizer ? r.standardizer->log_det_correction() : 0;
  std::vector<double> out;
  out.reserve(size_t(rows.rows));
  std::vector<double> block;
  rows.for_each_block([&](const double* values, int64_t, int64_t n) {
    block.assign(values, values + n * rows.cols);
    if (r.flow.format().dequantized())
      add_dequantization_noise(block.data(), n, r.flow.row_dim(), r.flow.dim(), rng);
    if (r.standardizer) r.standardizer->apply(block.data(), n);
    std::vector<T> x(block.begin(), block.end());
    std::vector<T> lp(static_cast<size_t>(n));
    r.flow.log_prob(x.data(), lp.data(), n);
    for (T v : lp) out.push_back(double(v) - correction);
    return true;
  });
  return out;
}

// Where data rows leave the flow's support ("12 rows of x.npy lie outside
// the support x0 in (0, 1): first at row 3 (x0 = 1.5)"), judged in the
// coordinates the flow sees (standardised, if it was trained so); empty
// when none does.
template <class T>
std::string outside_support(const ReadyFlow<T>& r, const RowTable& rows,
                            const std::string& source) {
  // Levels are checked on loading; with their noise they lie in (0, L).
  if (!restricted(r.flow.support()) || r.flow.format().dequantized()) return {};
  if (!r.standardizer)
    return outside_support_message(rows_outside(r.flow.support(), rows), source, r.flow.support());
  std::vector<double> standardised = rows.to_vector();
  r.standardizer->apply(standardised.data(), rows.rows);
  return outside_support_message(
      rows_outside(r.flow.support(), standardised.data(), rows.rows, r.flow.row_dim()),
      source + " (standardised)", r.flow.support());
}

// n samples in data coordinates, with their log-density; `context` and
// `temperature`: see Flow::sample. A dequantised flow's samples are rounded down to levels
// (their log-density stays the continuous one at the drawn point).
template <class T>
std::pair<std::vector<double>, std::vector<double>> data_samples(
    const ReadyFlow<T>& r, int64_t n, Random& rng, const std::vector<double>& context = {},
    double temperature = 1) {
  std::vector<double> c = context;  // in the flow's coordinates
  if (r.standardizer && r.flow.context_dim() > 0)
    r.standardizer->apply_context(c.data(), int64_t(c.size()) / r.flow.context_dim());
  const auto s = r.flow.sample(n, rng, std::vector<T>(c.begin(), c.end()), temperature);
  std::vector<double> x(s.x.begin(), s.x.end()), lp(s.log_prob.begin(), s.log_prob.end());
  if (r.standardizer) {
    r.standardizer->unapply_x(x.data(), n);
    for (double& v : lp) v -= r.standardizer->log_det_correction();
  }
  if (r.flow.format().dequantized()) quantize(x.data(), int64_t(x.size()), r.flow.format().levels);
  return {std::move(x), std::move(lp)};
}

bool ends_with(const std::string& s, const std::string& suffix);

// Rows of an image flow as images (`image = [H, W, C]` declared; throws
// UserError naming `what` otherwise): full intensity at the top level of a
// dequantised flow, at 1 for continuous data.
template <class T>
ImageRows image_rows(const Flow<T>& flow, const std::vector<double>& rows,
                     const std::string& what) {
  if (flow.format().image.empty())
    throw UserError(what + " needs an image flow: declare the shape of '" + flow.name() +
                    "' in its header, e.g. image = [28, 28, 1]");
  return {rows.data(), int64_t(rows.size()) / flow.dim(), flow.format().image,
          flow.format().dequantized() ? flow.format().levels - 1.0 : 1.0};
}

// Writes rows x cols values as .npy (in the model's precision) or .csv,
// atomically.
void write_table(const std::string& path, const std::vector<std::string>& header,
                 const std::vector<double>& values, int64_t rows, int cols, bool f32);

// The same for rows produced block by block, in constant memory: `produce`
// calls `append(values, n)` with n rows at a time until `rows` are written.
// An exception from `produce` leaves no file.
using AppendRows = std::function<void(const double* values, int64_t n)>;
void write_table_streamed(const std::string& path, const std::vector<std::string>& header,
                          int64_t rows, int cols, bool f32,
                          const std::function<void(const AppendRows&)>& produce);

}  // namespace nfc::cli
