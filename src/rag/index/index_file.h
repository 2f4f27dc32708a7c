// The file container both vector index adapters save into: a 48-byte header,
// then the adapter's payload. All integers little-endian.
//
//    0  magic[8]          which adapter ("BSLTHNSW", "BSLTFLAT")
//    8  u32 version       kIndexFileVersion
//   12  u32 dimensions
//   16  u64 count         the adapter's element count, checked against its payload
//   24  u64 payload_bytes
//   32  u64 checksum      Checksum64 over the payload, then header bytes [0, 32)
//   40  u64 reserved      0
//
// A reader trusts nothing before the checksum matched: hnswlib's own loader
// trusts its input, so a torn or flipped file must stop here, as kDataLoss.
//
// Thread-safety: free functions over distinct files; concurrent writers of
// the same path each use their own temporary file and the last rename wins.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace basalt::rag {

inline constexpr uint32_t kIndexFileVersion = 1;
inline constexpr size_t kIndexFileHeaderBytes = 48;

struct IndexFileInfo {
  uint32_t dimensions = 0;
  uint64_t count = 0;
  uint64_t payload_bytes = 0;
};

// Receives the payload in chunks, in order.
using ChunkSink = std::function<absl::Status(std::string_view chunk)>;

// Writes durably: a temporary file beside `path`, the payload (`produce`
// pushes it into the sink it is given, in any number of chunks), the header,
// fsync, rename over `path`, fsync of the folder. On error the temporary file
// is removed, `path` is untouched, and the Status (kInternal, naming the path
// and the system error, or whatever `produce` returned) is returned.
absl::Status WriteIndexFile(const std::string& path, std::string_view magic, uint32_t dimensions,
                            uint64_t count,
                            const std::function<absl::Status(const ChunkSink&)>& produce);

// Reads `path`, handing the payload to `consume` in chunks as it goes.
// kNotFound when the file does not exist; kDataLoss when it is not this
// adapter's (magic, version), is short or long, has another dimension than
// `dimensions`, or fails its checksum. The checksum is known only at the
// end: on any error the consumer must discard what it was given.
absl::StatusOr<IndexFileInfo> ReadIndexFile(const std::string& path, std::string_view magic,
                                            uint32_t dimensions, const ChunkSink& consume);

}  // namespace basalt::rag
