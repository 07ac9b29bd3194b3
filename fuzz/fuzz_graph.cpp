// Graph specs: JSON parsing and validation against the built-in effects (parameters, inputs,
// outputs, cycles). Oracle: a spec that validates prints to JSON that validates again and
// prints the same.

#include <string>

#include "artistry/graph.hpp"
#include "fuzz_support.hpp"

using namespace artistry;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const Graph graph = Graph::from_json(text);
        const std::string printed = graph.to_json();
        const Graph again = Graph::from_json(printed);
        if (again.to_json() != printed) __builtin_trap();
    } catch (const Error&) {
    }
    return 0;
}
