// Test helpers for the extractor tests: the shared corpora, temp folders and
// zip archives written with libarchive.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace basalt::rag::extract::testing {

// ../shared (BASALT_SHARED_DIR) joined with `relative`.
std::string SharedPath(const std::string& relative);
// The file's bytes; empty when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);
// A fresh empty folder under the system temp folder.
std::string MakeTempDir();
// A zip holding the (name, content) entries in order, deflated.
std::string MakeZip(const std::vector<std::pair<std::string, std::string>>& entries);
// A minimal DOCX whose word/document.xml body is `body_xml` (w: namespace) and
// whose word/styles.xml is `styles_xml` when not empty.
std::string MakeDocx(const std::string& body_xml, const std::string& styles_xml = "");

// A PDF written by hand: one page per string (Helvetica, one line each; an
// empty string is a page with no text). `encrypted` adds a standard security
// handler whose user password is not empty (poppler reports it locked).
std::string MakeTextPdf(const std::vector<std::string>& pages, bool encrypted = false);

}  // namespace basalt::rag::extract::testing
