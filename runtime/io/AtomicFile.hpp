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

}  // namespace nfc
