#pragma once
// Copying what a growing file holds now (a run's or a job's log) to an output, for `logs -f`.

#include <istream>
#include <ostream>

namespace furnace::util {

// Copies what `in` has left to `out` and flushes it; true when there was anything. The stream's
// end-of-file state is cleared, so that a later call sees what was appended since.
bool copy_available(std::istream& in, std::ostream& out);

} // namespace furnace::util
