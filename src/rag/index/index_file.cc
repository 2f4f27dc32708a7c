#include "rag/index/index_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <utility>

#include "core/strings.h"
#include "rag/index/checksum.h"

namespace basalt::rag {
namespace {

constexpr size_t kChunkBytes = 1 << 20;

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

absl::Status SystemError(std::string_view what, const std::string& path) {
  return absl::InternalError(StrCat(what, " '", path, "': ", std::strerror(errno)));
}

void Put32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void Put64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t Get32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
uint64_t Get64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

absl::Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SystemError("cannot write", path);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

std::string TempPath(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return StrCat(path, ".tmp-", ::getpid(), "-", counter.fetch_add(1));
}

absl::Status SyncFolder(const std::string& path) {
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (folder.empty()) folder = ".";
  Fd fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return SystemError("cannot open folder", folder.string());
  if (::fsync(fd.get()) != 0) return SystemError("cannot fsync folder", folder.string());
  return absl::OkStatus();
}

absl::Status WriteTemp(const std::string& temp, std::string_view magic, uint32_t dimensions,
                       uint64_t count,
                       const std::function<absl::Status(const ChunkSink&)>& produce) {
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return SystemError("cannot create", temp);
  char header[kIndexFileHeaderBytes] = {};
  if (absl::Status s = WriteAll(fd.get(), header, sizeof(header), temp); !s.ok()) return s;
  Checksum64 checksum;
  uint64_t payload_bytes = 0;
  // Buffered so that many small chunks cost few system calls.
  std::string buffer;
  buffer.reserve(kChunkBytes);
  ChunkSink sink = [&](std::string_view chunk) -> absl::Status {
    checksum.Update(chunk);
    payload_bytes += chunk.size();
    if (buffer.size() + chunk.size() > kChunkBytes) {
      if (absl::Status s = WriteAll(fd.get(), buffer.data(), buffer.size(), temp); !s.ok())
        return s;
      buffer.clear();
    }
    if (chunk.size() >= kChunkBytes) return WriteAll(fd.get(), chunk.data(), chunk.size(), temp);
    buffer.append(chunk.data(), chunk.size());
    return absl::OkStatus();
  };
  if (absl::Status s = produce(sink); !s.ok()) return s;
  if (absl::Status s = WriteAll(fd.get(), buffer.data(), buffer.size(), temp); !s.ok()) return s;

  std::memcpy(header, magic.data(), std::min<size_t>(magic.size(), 8));
  Put32(header + 8, kIndexFileVersion);
  Put32(header + 12, dimensions);
  Put64(header + 16, count);
  Put64(header + 24, payload_bytes);
  checksum.Update(std::string_view(header, 32));
  Put64(header + 32, checksum.Digest());
  if (::pwrite(fd.get(), header, sizeof(header), 0) != static_cast<ssize_t>(sizeof(header))) {
    return SystemError("cannot write header of", temp);
  }
  if (::fsync(fd.get()) != 0) return SystemError("cannot fsync", temp);
  if (::close(fd.Release()) != 0) return SystemError("cannot close", temp);
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteIndexFile(const std::string& path, std::string_view magic, uint32_t dimensions,
                            uint64_t count,
                            const std::function<absl::Status(const ChunkSink&)>& produce) {
  const std::string temp = TempPath(path);
  absl::Status s = WriteTemp(temp, magic, dimensions, count, produce);
  if (s.ok() && ::rename(temp.c_str(), path.c_str()) != 0)
    s = SystemError("cannot rename onto", path);
  if (!s.ok()) {
    ::unlink(temp.c_str());
    return s;
  }
  return SyncFolder(path);
}

absl::StatusOr<IndexFileInfo> ReadIndexFile(const std::string& path, std::string_view magic,
                                            uint32_t dimensions, const ChunkSink& consume) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return absl::NotFoundError(StrCat("no index file '", path, "'"));
    return SystemError("cannot open", path);
  }
  auto data_loss = [&](std::string_view why) {
    return absl::DataLossError(StrCat("index file '", path, "' ", why));
  };
  char header[kIndexFileHeaderBytes];
  ssize_t got = ::pread(fd.get(), header, sizeof(header), 0);
  if (got < 0) return SystemError("cannot read", path);
  if (static_cast<size_t>(got) < sizeof(header)) return data_loss("is shorter than its header");
  if (std::string_view(header, 8) != magic.substr(0, 8)) {
    return data_loss(StrCat("is not a '", magic, "' index file"));
  }
  IndexFileInfo info;
  if (uint32_t version = Get32(header + 8); version != kIndexFileVersion) {
    return data_loss(StrCat("has version ", version, "; this build reads ", kIndexFileVersion));
  }
  info.dimensions = Get32(header + 12);
  info.count = Get64(header + 16);
  info.payload_bytes = Get64(header + 24);
  const uint64_t expected = Get64(header + 32);
  if (info.dimensions != dimensions) {
    return data_loss(
        StrCat("holds vectors of ", info.dimensions, " dimensions; expected ", dimensions));
  }
  Checksum64 checksum;
  std::unique_ptr<char[]> buffer(new char[kChunkBytes]);
  uint64_t offset = kIndexFileHeaderBytes;
  uint64_t remaining = info.payload_bytes;
  while (remaining > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(remaining, kChunkBytes));
    ssize_t n = ::pread(fd.get(), buffer.get(), want, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return SystemError("cannot read", path);
    }
    if (n == 0) return data_loss("is shorter than its header says (truncated?)");
    std::string_view chunk(buffer.get(), static_cast<size_t>(n));
    checksum.Update(chunk);
    if (absl::Status s = consume(chunk); !s.ok()) return s;
    offset += static_cast<uint64_t>(n);
    remaining -= static_cast<uint64_t>(n);
  }
  char extra;
  if (::pread(fd.get(), &extra, 1, static_cast<off_t>(offset)) != 0) {
    return data_loss("is longer than its header says");
  }
  checksum.Update(std::string_view(header, 32));
  if (checksum.Digest() != expected) return data_loss("fails its checksum (corrupt)");
  return info;
}

}  // namespace basalt::rag
