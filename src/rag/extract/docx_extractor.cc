#include "rag/extract/docx_extractor.h"

#include <archive.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <pugixml.hpp>
#include <string>
#include <vector>

#include "core/strings.h"
#include "rag/extract/text_builder.h"
#include "rag/extract/text_util.h"
#include "rag/extract/zip_reader.h"

namespace basalt::rag::extract {
namespace {

constexpr char kDocument[] = "word/document.xml";
constexpr char kStyles[] = "word/styles.xml";

// Element and attribute names compared without their namespace prefix.
std::string_view Local(const char* name) {
  std::string_view s(name);
  const size_t colon = s.find(':');
  return colon == std::string_view::npos ? s : s.substr(colon + 1);
}

pugi::xml_node Child(pugi::xml_node n, std::string_view local) {
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (Local(c.name()) == local) return c;
  }
  return {};
}

std::string_view Val(pugi::xml_node n) {
  for (pugi::xml_attribute a = n.first_attribute(); a; a = a.next_attribute()) {
    if (Local(a.name()) == "val") return a.value();
  }
  return {};
}

int ToInt(std::string_view s, int fallback) {
  if (s.empty() || s.size() > 6) return fallback;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return fallback;
    v = v * 10 + (c - '0');
  }
  return v;
}

// "heading 2" / "Heading2" -> 2; "Title" -> 1; else 0.
int LevelFromName(std::string_view name) {
  std::string lower;
  for (char c : name) {
    if (c != ' ') lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (lower == "title") return 1;
  if (lower.size() == 8 && lower.starts_with("heading") && lower[7] >= '1' && lower[7] <= '6') {
    return lower[7] - '0';
  }
  return 0;
}

struct Style {
  std::string name;
  std::string based_on;
  int outline = -1;  // w:outlineLvl, 0-based
  bool numbered = false;
};

class Styles {
 public:
  void Load(const pugi::xml_document& doc) {
    const pugi::xml_node root = doc.document_element();
    for (pugi::xml_node s = root.first_child(); s; s = s.next_sibling()) {
      if (Local(s.name()) != "style") continue;
      std::string id;
      for (pugi::xml_attribute a = s.first_attribute(); a; a = a.next_attribute()) {
        if (Local(a.name()) == "styleId") id = a.value();
      }
      if (id.empty()) continue;
      Style& st = styles_[id];
      st.name = std::string(Val(Child(s, "name")));
      st.based_on = std::string(Val(Child(s, "basedOn")));
      const pugi::xml_node ppr = Child(s, "pPr");
      st.outline = ToInt(Val(Child(ppr, "outlineLvl")), -1);
      st.numbered = static_cast<bool>(Child(ppr, "numPr"));
    }
  }

  // The heading level of style `id` (through basedOn), 0 for body text.
  int HeadingLevel(std::string_view id) const {
    for (int hop = 0; hop < 8 && !id.empty(); ++hop) {
      const auto it = styles_.find(id);
      if (it == styles_.end()) return LevelFromName(id);
      if (const int by_name = LevelFromName(it->second.name); by_name > 0) return by_name;
      if (const int by_id = LevelFromName(id); by_id > 0) return by_id;
      if (it->second.outline >= 0 && it->second.outline <= 5) return it->second.outline + 1;
      id = it->second.based_on;
    }
    return 0;
  }

  bool IsList(std::string_view id) const {
    const auto it = styles_.find(id);
    if (it == styles_.end()) return id.starts_with("List");
    return it->second.numbered || std::string_view(it->second.name).starts_with("List") ||
           std::string_view(it->second.name).starts_with("list");
  }

 private:
  std::map<std::string, Style, std::less<>> styles_;
};

// Paragraph and table layout over document.xml, walked without recursion.
class Walker {
 public:
  Walker(const Styles& styles, TextBuilder* out, const Deadline& deadline)
      : styles_(styles), out_(out), deadline_(deadline) {}

  absl::Status Run(pugi::xml_node body) {
    pugi::xml_node n = body.first_child();
    while (n && !out_->over_limit()) {
      if ((++visited_ & 0xFFF) == 0) {
        if (absl::Status s = deadline_.Check(); !s.ok()) return s;
      }
      const bool entered = Enter(n);
      if (entered && n.first_child()) {
        n = n.first_child();
        continue;
      }
      if (entered) Exit(n);
      while (n != body && !n.next_sibling()) {
        n = n.parent();
        if (n != body) Exit(n);
      }
      if (n == body) break;
      n = n.next_sibling();
    }
    return absl::OkStatus();
  }

 private:
  // Handles a block-level node; true descends into it.
  bool Enter(pugi::xml_node n) {
    const std::string_view name = Local(n.name());
    if (name == "p") {
      Paragraph(n);
      return false;
    }
    if (name == "tbl") {
      out_->RequestBreak(TextBuilder::Break::kParagraph);
      return true;
    }
    if (name == "tr") {
      out_->RequestBreak(TextBuilder::Break::kLine);
      cells_.push_back(0);
      return true;
    }
    if (name == "tc") {
      if (!cells_.empty() && cells_.back()++ > 0) out_->AddSeparator(" | ");
      out_->PushSuppressBreaks();
      return true;
    }
    return name == "sdt" || name == "sdtContent" || name == "customXml" || name == "smartTag" ||
           name == "ins";
  }

  void Exit(pugi::xml_node n) {
    const std::string_view name = Local(n.name());
    if (name == "tbl") {
      out_->RequestBreak(TextBuilder::Break::kParagraph);
    } else if (name == "tr") {
      if (!cells_.empty()) cells_.pop_back();
      out_->RequestBreak(TextBuilder::Break::kLine);
    } else if (name == "tc") {
      out_->PopSuppressBreaks();
    }
  }

  // The text of paragraph `p`: w:t runs, tabs, breaks ('\n').
  std::string ParagraphText(pugi::xml_node p) {
    std::string text;
    pugi::xml_node n = p.first_child();
    while (n) {
      ++visited_;
      const std::string_view name = Local(n.name());
      bool descend = true;
      if (name == "t") {
        text.append(n.child_value());
        descend = false;
      } else if (name == "tab") {
        text.push_back('\t');
      } else if (name == "br" || name == "cr") {
        text.push_back('\n');
      } else if (name == "noBreakHyphen") {
        text.push_back('-');
      } else if (name == "p") {
        text.push_back(' ');  // a text box's paragraph inside this one
      } else if (name == "pPr" || name == "rPr" || name == "del" || name == "delText" ||
                 name == "instrText" || name == "Fallback" || name == "moveFrom") {
        descend = false;
      }
      if (descend && n.first_child()) {
        n = n.first_child();
        continue;
      }
      while (n != p && !n.next_sibling()) n = n.parent();
      if (n == p) break;
      n = n.next_sibling();
    }
    return text;
  }

  void AddLines(std::string_view text) {
    size_t pos = 0;
    while (true) {
      const size_t nl = text.find('\n', pos);
      out_->AddInline(text.substr(pos, nl == std::string_view::npos ? nl : nl - pos));
      if (nl == std::string_view::npos) break;
      out_->AddLineBreak();
      pos = nl + 1;
    }
  }

  void Paragraph(pugi::xml_node p) {
    const pugi::xml_node ppr = Child(p, "pPr");
    const std::string_view style = Val(Child(ppr, "pStyle"));
    int level = styles_.HeadingLevel(style);
    if (level == 0) {
      const int outline = ToInt(Val(Child(ppr, "outlineLvl")), -1);
      if (outline >= 0 && outline <= 5) level = outline + 1;
    }
    const pugi::xml_node num = Child(ppr, "numPr");
    const bool numbered = num && Val(Child(num, "numId")) != "0";
    const bool list = numbered || (!num && styles_.IsList(style));
    const int ilvl = std::clamp(ToInt(Val(Child(num, "ilvl")), 0), 0, 8);
    const std::string text = ParagraphText(p);
    if (level > 0 && cells_.empty()) {
      out_->BeginHeading(level);
      AddLines(text);
      out_->EndHeading();
    } else if (list) {
      out_->StartPrefixedLine(std::string(2 * ilvl, ' ') + "- ");
      AddLines(text);
      out_->EndPrefixedLine();
    } else {
      out_->RequestBreak(TextBuilder::Break::kParagraph);
      AddLines(text);
      out_->RequestBreak(TextBuilder::Break::kParagraph);
    }
  }

  const Styles& styles_;
  TextBuilder* out_;
  const Deadline& deadline_;
  std::vector<int> cells_;  // cells seen so far in each open row
  size_t visited_ = 0;
};

absl::Status ParseXml(const std::string& xml, const char* entry, pugi::xml_document* doc) {
  const pugi::xml_parse_result r = doc->load_buffer(
      xml.data(), xml.size(), pugi::parse_default | pugi::parse_ws_pcdata, pugi::encoding_utf8);
  if (r) return absl::OkStatus();
  return absl::InvalidArgumentError(StrCat("docx: ", entry, " is not well-formed XML (",
                                           r.description(), " at offset ", r.offset, ")"));
}

}  // namespace

std::string DocxExtractor::version() const {
  const int v = archive_version_number();  // 3006002 for 3.6.2
  return StrCat("docx/1 libarchive-", v / 1000000, ".", v / 1000 % 1000, ".", v % 1000, " pugixml-",
                PUGIXML_VERSION / 1000, ".", PUGIXML_VERSION % 1000 / 10);
}

absl::StatusOr<Extracted> DocxExtractor::Extract(std::string_view bytes,
                                                 const ExtractLimits& limits) const {
  const Deadline deadline(limits.max_time);
  try {
    ZipReadOptions zip_options;
    zip_options.max_entry_bytes = limits.max_bytes;
    absl::StatusOr<std::map<std::string, std::string>> entries =
        ReadZipEntries(bytes, {kDocument, kStyles}, zip_options, deadline);
    if (!entries.ok()) return entries.status();
    const auto doc_it = entries->find(kDocument);
    if (doc_it == entries->end()) {
      return absl::InvalidArgumentError("docx: the zip has no word/document.xml");
    }
    Styles styles;
    if (const auto it = entries->find(kStyles); it != entries->end()) {
      pugi::xml_document style_doc;
      if (ParseXml(it->second, kStyles, &style_doc).ok()) styles.Load(style_doc);
    }
    pugi::xml_document doc;
    if (absl::Status s = ParseXml(doc_it->second, kDocument, &doc); !s.ok()) return s;
    if (absl::Status s = deadline.Check(); !s.ok()) return s;
    const pugi::xml_node body = Child(doc.document_element(), "body");
    if (!body) return absl::InvalidArgumentError("docx: word/document.xml has no w:body");
    TextBuilder builder(limits.max_text_bytes);
    Walker walker(styles, &builder, deadline);
    if (absl::Status s = walker.Run(body); !s.ok()) return s;
    if (builder.over_limit()) return CheckTextSize(limits.max_text_bytes + 1, limits);
    Extracted out;
    builder.Finish(&out);
    out.mime = std::string(kDocxMime);
    out.extractor = std::string(name());
    out.version = version();
    return out;
  } catch (const std::exception& e) {
    return absl::InternalError(StrCat("docx: ", e.what()));
  }
}

}  // namespace basalt::rag::extract
