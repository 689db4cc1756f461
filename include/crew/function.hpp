#pragma once
// Registering C++ functions so clients can call them on engines by name.
//
//   double mul(double a, double b) { return a * b; }
//   CREW_FUNCTION(mul);                      // callable as "mul"
//   CREW_FUNCTION_AS("stats.mean", mean);    // under another name
//
// Parameters are converted from the wire values with crew::from_value (see crew/convert.hpp);
// a wrong argument count or type becomes a RemoteError [crew.remote.bad_arguments] that names the
// argument, the expected type and what arrived. The result goes back through crew::to_value
// (void returns null). A first parameter `crew::Context&` gives access to the engine.
// Functions can live in the engine program or in a plugin (a shared library loaded with
// `crew-engine --plugin lib.so` or `view.load_plugin(path)`), registering when it loads.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "crew/context.hpp"
#include "crew/error.hpp"
#include "crew/export.hpp"
#include "crew/value.hpp"

namespace crew {

/// The uniform shape of every function on an engine; arguments arrive with Refs resolved.
using Invoker = std::function<Value(Context&, const Value::List& args)>;

/// Registers (or replaces) a function taking its arguments as a list of Values: the untyped form
/// of register_function, for functions that take any number of arguments.
CREW_API void register_invoker(std::string name, std::string signature, Invoker invoke);

namespace detail {

template <class... A>
struct TypeList {};

template <class F>
struct CallableTraits : CallableTraits<decltype(&F::operator())> {};
template <class R, class... A>
struct CallableTraits<R (*)(A...)> {
  using result = R;
  using args = TypeList<A...>;
};
template <class R, class... A>
struct CallableTraits<R (*)(A...) noexcept> : CallableTraits<R (*)(A...)> {};
template <class R, class... A>
struct CallableTraits<R(A...)> : CallableTraits<R (*)(A...)> {};
template <class C, class R, class... A>
struct CallableTraits<R (C::*)(A...) const> : CallableTraits<R (*)(A...)> {};
template <class C, class R, class... A>
struct CallableTraits<R (C::*)(A...) const noexcept> : CallableTraits<R (*)(A...)> {};
template <class C, class R, class... A>
struct CallableTraits<R (C::*)(A...)> : CallableTraits<R (*)(A...)> {};

template <class T>
inline constexpr bool is_context_v = std::is_same_v<std::remove_cvref_t<T>, Context>;

[[noreturn]] CREW_API void throw_bad_argument(std::size_t index, const std::string& signature, const Error& why);
[[noreturn]] CREW_API void throw_arity(const std::string& signature, std::size_t wanted, std::size_t got);

template <class T>
std::string result_name() {
  if constexpr (std::is_void_v<T>)
    return "void";
  else
    return type_name<std::remove_cvref_t<T>>();
}

template <class A>
std::decay_t<A> convert_argument(const Value::List& args, std::size_t i, const std::string& signature) {
  static_assert(!std::is_lvalue_reference_v<A> || std::is_const_v<std::remove_reference_t<A>>,
                "crew functions take parameters by value or const reference (only Context& may be non-const)");
  try {
    return from_value<std::decay_t<A>>(args[i]);
  } catch (const Error& e) {
    throw_bad_argument(i, signature, e);
  }
}

template <bool WithContext, class F, class R, class... A>
class TypedInvoker {
public:
  TypedInvoker(F f, std::string signature) : f_(std::move(f)), signature_(std::move(signature)) {}

  Value operator()(Context& ctx, const Value::List& args) const {
    if (args.size() != sizeof...(A)) throw_arity(signature_, sizeof...(A), args.size());
    return call(ctx, args, std::index_sequence_for<A...>{});
  }

private:
  template <std::size_t... I>
  Value call(Context& ctx, const Value::List& args, std::index_sequence<I...>) const {
    // Braced initialisation converts left to right, so the first bad argument is the one reported.
    std::tuple<std::decay_t<A>...> values{convert_argument<A>(args, I, signature_)...};
    auto invoke = [&](auto&&... xs) -> decltype(auto) {
      if constexpr (WithContext)
        return f_(ctx, std::move(xs)...);
      else
        return f_(std::move(xs)...);
    };
    if constexpr (std::is_void_v<R>) {
      std::apply(invoke, std::move(values));
      return Value();
    } else {
      return to_value(std::apply(invoke, std::move(values)));
    }
  }

  F f_;
  std::string signature_;
};

template <class... A>
std::string parameter_names() {
  std::string s;
  ((s += (s.empty() ? "" : ", ") + type_name<std::decay_t<A>>()), ...);
  return s;
}

template <class F, class R, class First, class... Rest>
void register_typed(std::string name, F f, TypeList<First, Rest...>) {
  if constexpr (is_context_v<First>) {
    static_assert(std::is_lvalue_reference_v<First>, "take the context as crew::Context&");
    std::string sig = name + "(" + parameter_names<Rest...>() + ") -> " + result_name<R>();
    register_invoker(name, sig, TypedInvoker<true, F, R, Rest...>(std::move(f), sig));
  } else {
    std::string sig = name + "(" + parameter_names<First, Rest...>() + ") -> " + result_name<R>();
    register_invoker(name, sig, TypedInvoker<false, F, R, First, Rest...>(std::move(f), sig));
  }
}

template <class F, class R>
void register_typed(std::string name, F f, TypeList<>) {
  std::string sig = name + "() -> " + result_name<R>();
  register_invoker(name, sig, TypedInvoker<false, F, R>(std::move(f), sig));
}

}  // namespace detail

/// Registers a typed C++ callable (function pointer or lambda without auto parameters).
template <class F>
void register_function(std::string name, F f) {
  using Traits = detail::CallableTraits<std::decay_t<F>>;
  detail::register_typed<std::decay_t<F>, typename Traits::result>(std::move(name), std::move(f),
                                                                   typename Traits::args{});
}

namespace detail {
struct Registrar {
  template <class F>
  Registrar(const char* name, F f) {
    register_function(name, f);
  }
};
}  // namespace detail

}  // namespace crew

#define CREW_DETAIL_CAT2(a, b) a##b
#define CREW_DETAIL_CAT(a, b) CREW_DETAIL_CAT2(a, b)
/// Registers `fn` under its own name when the program or plugin loads.
#define CREW_FUNCTION(fn) CREW_FUNCTION_AS(#fn, fn)
/// Registers `fn` under `name` when the program or plugin loads.
#define CREW_FUNCTION_AS(name, fn)                                                                                     \
  namespace {                                                                                                          \
  [[maybe_unused]] const ::crew::detail::Registrar CREW_DETAIL_CAT(crew_registrar_, __COUNTER__){name, fn};            \
  }                                                                                                                    \
  static_assert(true, "")
