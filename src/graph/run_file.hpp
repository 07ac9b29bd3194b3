#pragma once
// Engine::run_file's insides: the plan (stream or not) and the two ways of running it.

#include <map>
#include <string>

#include "artistry/engine.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {
namespace detail {

FilePlan plan_file(const Graph& graph, const MemoryManager& memory, const std::string& input_path,
                   const FileRunOptions& options);

// run_id: the id Engine::run_file gave the run (its events already carry it), for the result.
FileRunResult run_file(Engine& engine, MemoryManager& memory, double memory_wait_seconds,
                       const Graph& graph, const std::string& input_path,
                       const std::map<std::string, std::string>& output_paths,
                       const FileRunOptions& options, std::uint64_t run_id);

}  // namespace detail
}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
