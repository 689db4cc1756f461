// crew::LoadBalancedView, crew::Dependency, crew::Range.
#include "crew/load_balanced_view.hpp"

#include <algorithm>

#include "client/client_core.hpp"
#include "crew/json.hpp"
#include "values/sequence.hpp"

namespace crew {
namespace {

wire::DependencySpec spec_of(const Dependency& d) { return {d.msg_ids, d.all, d.success, d.failure}; }

wire::BalanceSpec spec_of(const TaskOptions& o) {
  if (o.retries < 0) throw_error(errc::bad_option, "retries " + std::to_string(o.retries) + ": must be 0 or more");
  if (o.timeout.count() < 0)
    throw_error(errc::bad_option, "timeout " + std::to_string(o.timeout.count()) + " ms: must be 0 (none) or more");
  wire::BalanceSpec s;
  s.after = spec_of(o.after);
  s.follow = spec_of(o.follow);
  s.timeout_ms = o.timeout.count();
  s.retries = o.retries;
  if (!o.require.empty()) s.requires_json = to_json_text(Value(o.require));
  return s;
}

/// Chunks of `sizes` of a sequence of `n` items: the first `n % chunks` are not longer; every
/// chunk has `chunksize` items but the last.
std::vector<std::size_t> chunk_sizes(std::size_t n, std::size_t chunksize) {
  std::vector<std::size_t> sizes;
  for (std::size_t at = 0; at < n; at += chunksize) sizes.push_back(std::min(chunksize, n - at));
  return sizes;
}

}  // namespace

Dependency::Dependency(std::initializer_list<AsyncResult> results) {
  for (const auto& r : results)
    for (const auto& id : r.msg_ids()) msg_ids.push_back(id);
}

Dependency::Dependency(const AsyncResult& result) : msg_ids(result.msg_ids()) {}

Dependency::Dependency(const AsyncMap& map) : msg_ids(map.msg_ids()) {}

std::size_t Range::size() const noexcept {
  if (step == 0) return 0;
  if (step > 0) return stop > start ? static_cast<std::size_t>((stop - start + step - 1) / step) : 0;
  return start > stop ? static_cast<std::size_t>((start - stop - step - 1) / -step) : 0;
}

Range range(std::int64_t stop) { return Range{0, stop, 1}; }

Range range(std::int64_t start, std::int64_t stop, std::int64_t step) {
  if (step == 0) throw_error(errc::bad_option, "range(start, stop, step): step must not be 0");
  return Range{start, stop, step};
}

Value ValueTraits<Range>::to(const Range& r) {
  std::vector<std::int64_t> xs(r.size());
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = r[i];
  return Value(Array::from(std::move(xs)));
}

Range ValueTraits<Range>::from(const Value& v) {
  const auto xs = from_value<std::vector<std::int64_t>>(v);
  if (xs.empty()) return Range{};
  const std::int64_t step = xs.size() > 1 ? xs[1] - xs[0] : 1;
  for (std::size_t i = 1; i < xs.size(); ++i)
    if (xs[i] - xs[i - 1] != step || step == 0) detail::throw_conversion(v, "range (evenly spaced integers)");
  return Range{xs.front(), xs.back() + step, step};
}

LoadBalancedView LoadBalancedView::with(TaskOptions options) const {
  (void)spec_of(options);  // bad options fail here, not at the first apply
  LoadBalancedView v = *this;
  v.options_ = std::move(options);
  return v;
}

AsyncResult LoadBalancedView::apply_list(std::string_view function, Value::List args) const {
  return AsyncResult(core_->submit_balanced(function, {&args, 1}, targets_, spec_of(options_), true));
}

std::size_t LoadBalancedView::default_chunksize(std::size_t items) const {
  // About 8 chunks per engine: few enough that per-task costs vanish for cheap items, enough that
  // engines that finish early take more of the rest.
  const std::size_t engines = std::max<std::size_t>(1, targets_.empty() ? engines_hint_ : targets_.size());
  const std::size_t chunks = engines * 8;
  return std::max<std::size_t>(1, (items + chunks - 1) / chunks);
}

AsyncMap LoadBalancedView::map_value(std::string_view function, Value sequence, MapOptions o) const {
  std::vector<Value> one;
  one.push_back(std::move(sequence));
  return map_values(function, std::move(one), o);
}

AsyncMap LoadBalancedView::map_values(std::string_view function, std::vector<Value> sequences, MapOptions o) const {
  const std::size_t n = seq::common_length(sequences, "map");
  const std::size_t chunk = o.chunksize > 0 ? o.chunksize : default_chunksize(n);
  const auto sizes = chunk_sizes(n, chunk);
  std::vector<Value::List> calls;
  calls.reserve(sizes.size());
  std::size_t at = 0;
  for (const std::size_t k : sizes) {
    Value::List call{Value(std::string(function))};
    for (const Value& sequence : sequences) call.push_back(seq::take(sequence, at, k));
    calls.push_back(std::move(call));
    at += k;
  }
  return AsyncMap(core_->submit_balanced("crew.map", calls, targets_, spec_of(options_), false), sizes, o.ordered);
}

AsyncMap LoadBalancedView::map(std::string_view function, const Range& r, MapOptions o) const {
  const std::size_t n = r.size();
  const std::size_t chunk = o.chunksize > 0 ? o.chunksize : default_chunksize(n);
  const auto sizes = chunk_sizes(n, chunk);
  std::vector<Value::List> calls;
  calls.reserve(sizes.size());
  std::size_t at = 0;
  for (const std::size_t k : sizes) {
    std::vector<std::int64_t> xs(k);
    for (std::size_t i = 0; i < k; ++i) xs[i] = r[at + i];
    calls.push_back({Value(std::string(function)), Value(Array::from(std::move(xs)))});
    at += k;
  }
  return AsyncMap(core_->submit_balanced("crew.map", calls, targets_, spec_of(options_), false), sizes, o.ordered);
}

AbortReport LoadBalancedView::abort(const AsyncResult& r) const { return abort(r.msg_ids()); }
AbortReport LoadBalancedView::abort(const AsyncMap& m) const { return abort(m.msg_ids()); }

AbortReport LoadBalancedView::abort(const std::vector<std::string>& msg_ids) const { return core_->abort(msg_ids); }

}  // namespace crew
