#pragma once
// Forward declarations of crew's public types, for headers that only name them (parameters,
// pointers, references) and need not pull in the definitions:
//
//   #include <crew/fwd.hpp>
//   void report(const crew::AsyncResult& r);   // the .cpp includes <crew/crew.hpp>
//
// The definitions: crew/crew.hpp (client side, which includes this file) and crew/engine.hpp.

#include <cstdint>

namespace crew {

// values (crew/value.hpp, crew/buffer.hpp, crew/convert.hpp, crew/reduce_op.hpp)
class Buffer;
class Array;
class Value;
struct Ref;
struct Object;
enum class dtype : std::uint8_t;
enum class op;
template <class T, class Enable>
struct ValueTraits;

// errors (crew/error.hpp)
enum class errc : std::uint16_t;
class Error;
class ConnectionError;
class TimeoutError;
class InputError;
class ProtocolError;
class LaunchError;
class RemoteError;
class EngineError;
class CompositeError;

// client (crew/client.hpp, crew/view.hpp, crew/load_balanced_view.hpp, crew/async_result.hpp,
// crew/async_map.hpp)
class Client;
struct ClientOptions;
struct EngineInfo;
struct QueueStatus;
struct ResultStatus;
class DirectView;
class LoadBalancedView;
struct Dependency;
struct TaskOptions;
struct MapOptions;
struct Range;
struct AbortReport;
class AsyncResult;
struct ResultMetadata;
class AsyncMap;

// engine (crew/engine.hpp, crew/context.hpp, crew/function.hpp)
class Engine;
struct EngineOptions;
class Context;
class Namespace;

}  // namespace crew
