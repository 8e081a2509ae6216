// Replacing a file so that readers, and a crash, see either the old content
// or the complete new one, never a torn mix: checkpoints and outputs are
// written to `path.tmp.<pid>` beside the target, flushed to disk, renamed
// over it, and the directory entry is flushed too.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace nfc {

// Calls `write` with a stream onto the temporary file, then commits it. On
// any failure the temporary file is removed and `path` is left untouched:
// an IO failure throws DataError("cannot write 'path': <strerror>"); an
// exception thrown by `write` itself propagates unchanged.
void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write);

void write_file_atomically(const std::string& path, std::string_view bytes);

// Checks before any work that `path` can be written, by creating and
// removing its temporary file: a missing directory fails at once, not at
// the first checkpoint minutes later. Throws DataError as above.
void check_writable(const std::string& path);

// Removes the temporary files of `path` left behind by writers that were
// killed (`path.tmp.<pid>` whose process is gone). Returns how many.
int remove_stale_temporaries(const std::string& path);

}  // namespace nfc
