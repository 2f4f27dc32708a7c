#include "rag/extract/html_extractor.h"

#include <gumbo.h>

#include <memory>
#include <string>
#include <vector>

#include "core/strings.h"
#include "rag/extract/text_builder.h"
#include "rag/extract/text_util.h"

#ifndef BASALT_GUMBO_VERSION
#define BASALT_GUMBO_VERSION "unknown"
#endif

namespace basalt::rag::extract {
namespace {

struct OutputDeleter {
  void operator()(GumboOutput* out) const { gumbo_destroy_output(&kGumboDefaultOptions, out); }
};

bool IsDropped(const GumboElement& e) {
  switch (e.tag) {
    case GUMBO_TAG_HEAD:
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_NAV:
    case GUMBO_TAG_SVG:
    case GUMBO_TAG_MATH:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_OBJECT:
    case GUMBO_TAG_EMBED:
    case GUMBO_TAG_CANVAS:
    case GUMBO_TAG_SELECT:
    case GUMBO_TAG_TEXTAREA:
      return true;
    default:
      break;
  }
  if (gumbo_get_attribute(&e.attributes, "hidden") != nullptr) return true;
  const GumboAttribute* aria = gumbo_get_attribute(&e.attributes, "aria-hidden");
  return aria != nullptr && std::string_view(aria->value) == "true";
}

bool IsBlock(GumboTag t) {
  switch (t) {
    case GUMBO_TAG_P:
    case GUMBO_TAG_DIV:
    case GUMBO_TAG_SECTION:
    case GUMBO_TAG_ARTICLE:
    case GUMBO_TAG_MAIN:
    case GUMBO_TAG_HEADER:
    case GUMBO_TAG_FOOTER:
    case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_BLOCKQUOTE:
    case GUMBO_TAG_FIGURE:
    case GUMBO_TAG_FIGCAPTION:
    case GUMBO_TAG_ADDRESS:
    case GUMBO_TAG_FORM:
    case GUMBO_TAG_FIELDSET:
    case GUMBO_TAG_DETAILS:
    case GUMBO_TAG_SUMMARY:
    case GUMBO_TAG_DL:
    case GUMBO_TAG_DT:
    case GUMBO_TAG_DD:
    case GUMBO_TAG_HR:
    case GUMBO_TAG_CENTER:
    case GUMBO_TAG_LEGEND:
    case GUMBO_TAG_CAPTION:
    case GUMBO_TAG_PRE:
    case GUMBO_TAG_BODY:
    case GUMBO_TAG_HGROUP:
      return true;
    default:
      return false;
  }
}

int HeadingLevel(GumboTag t) {
  switch (t) {
    case GUMBO_TAG_H1:
      return 1;
    case GUMBO_TAG_H2:
      return 2;
    case GUMBO_TAG_H3:
      return 3;
    case GUMBO_TAG_H4:
      return 4;
    case GUMBO_TAG_H5:
      return 5;
    case GUMBO_TAG_H6:
      return 6;
    default:
      return 0;
  }
}

bool IsList(GumboTag t) {
  return t == GUMBO_TAG_UL || t == GUMBO_TAG_OL || t == GUMBO_TAG_MENU || t == GUMBO_TAG_DIR;
}

// The text of <title> and whether the body has an h1, found in one pass.
void ScanTitle(const GumboNode* root, std::string* title, bool* has_h1) {
  std::vector<const GumboNode*> stack = {root};
  while (!stack.empty()) {
    const GumboNode* n = stack.back();
    stack.pop_back();
    if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_DOCUMENT) continue;
    const GumboVector& children =
        n->type == GUMBO_NODE_ELEMENT ? n->v.element.children : n->v.document.children;
    if (n->type == GUMBO_NODE_ELEMENT) {
      if (n->v.element.tag == GUMBO_TAG_H1) *has_h1 = true;
      if (n->v.element.tag == GUMBO_TAG_TITLE && title->empty()) {
        for (unsigned i = 0; i < children.length; ++i) {
          const auto* c = static_cast<const GumboNode*>(children.data[i]);
          if (c->type == GUMBO_NODE_TEXT) title->append(c->v.text.text);
        }
        continue;
      }
    }
    for (unsigned i = children.length; i-- > 0;) {
      stack.push_back(static_cast<const GumboNode*>(children.data[i]));
    }
  }
}

// The layout walk: an explicit stack, so deep trees cannot exhaust the stack.
class Walker {
 public:
  Walker(TextBuilder* out, const Deadline* deadline) : out_(out), deadline_(deadline) {}

  absl::Status Run(const GumboNode* root) {
    stack_.push_back({root, 0, false});
    size_t visited = 0;
    while (!stack_.empty() && !out_->over_limit()) {
      if ((++visited & 0xFFF) == 0) {
        if (absl::Status s = deadline_->Check(); !s.ok()) return s;
      }
      Frame& f = stack_.back();
      if (!f.entered) {
        f.entered = true;
        if (!Enter(f.node)) {
          stack_.pop_back();
          continue;
        }
      }
      const GumboVector* children = Children(f.node);
      if (children != nullptr && f.next < children->length) {
        const auto* child = static_cast<const GumboNode*>(children->data[f.next++]);
        stack_.push_back({child, 0, false});
        continue;
      }
      const GumboNode* done = f.node;
      stack_.pop_back();
      Exit(done);
    }
    return absl::OkStatus();
  }

 private:
  struct Frame {
    const GumboNode* node;
    unsigned next;
    bool entered;
  };

  static const GumboVector* Children(const GumboNode* n) {
    if (n->type == GUMBO_NODE_ELEMENT) return &n->v.element.children;
    if (n->type == GUMBO_NODE_DOCUMENT) return &n->v.document.children;
    return nullptr;
  }

  // Handles the opening of a node; false skips its subtree.
  bool Enter(const GumboNode* n) {
    switch (n->type) {
      case GUMBO_NODE_TEXT:
      case GUMBO_NODE_CDATA:
      case GUMBO_NODE_WHITESPACE:
        if (pre_depth_ > 0) {
          out_->AddVerbatim(n->v.text.text);
        } else {
          out_->AddInline(n->v.text.text);
        }
        return false;
      case GUMBO_NODE_DOCUMENT:
        return true;
      case GUMBO_NODE_ELEMENT:
      case GUMBO_NODE_TEMPLATE:
        break;
      default:
        return false;  // comments
    }
    const GumboElement& e = n->v.element;
    if (IsDropped(e)) return false;
    const GumboTag t = e.tag;
    if (const int level = HeadingLevel(t); level > 0) {
      out_->BeginHeading(level);
    } else if (IsList(t)) {
      out_->RequestBreak(list_depth_ > 0 ? TextBuilder::Break::kLine
                                         : TextBuilder::Break::kParagraph);
      ++list_depth_;
    } else if (t == GUMBO_TAG_LI) {
      const int indent = list_depth_ > 1 ? 2 * (list_depth_ - 1) : 0;
      out_->StartPrefixedLine(std::string(indent, ' ') + "- ");
    } else if (t == GUMBO_TAG_TABLE) {
      out_->RequestBreak(TextBuilder::Break::kParagraph);
    } else if (t == GUMBO_TAG_TR) {
      out_->RequestBreak(TextBuilder::Break::kLine);
      cells_.push_back(0);
    } else if (t == GUMBO_TAG_TD || t == GUMBO_TAG_TH) {
      if (!cells_.empty() && cells_.back()++ > 0) out_->AddSeparator(" | ");
      out_->PushSuppressBreaks();
    } else if (t == GUMBO_TAG_BR) {
      out_->AddLineBreak();
    } else if (IsBlock(t)) {
      out_->RequestBreak(BlockBreak());
    }
    if (t == GUMBO_TAG_PRE || t == GUMBO_TAG_LISTING) ++pre_depth_;
    return true;
  }

  void Exit(const GumboNode* n) {
    if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_TEMPLATE) return;
    const GumboTag t = n->v.element.tag;
    if (HeadingLevel(t) > 0) {
      out_->EndHeading();
    } else if (IsList(t)) {
      --list_depth_;
      out_->RequestBreak(list_depth_ > 0 ? TextBuilder::Break::kLine
                                         : TextBuilder::Break::kParagraph);
    } else if (t == GUMBO_TAG_LI) {
      out_->EndPrefixedLine();
    } else if (t == GUMBO_TAG_TABLE) {
      out_->RequestBreak(TextBuilder::Break::kParagraph);
    } else if (t == GUMBO_TAG_TR) {
      if (!cells_.empty()) cells_.pop_back();
      out_->RequestBreak(TextBuilder::Break::kLine);
    } else if (t == GUMBO_TAG_TD || t == GUMBO_TAG_TH) {
      out_->PopSuppressBreaks();
    } else if (IsBlock(t)) {
      out_->RequestBreak(BlockBreak());
    }
    if ((t == GUMBO_TAG_PRE || t == GUMBO_TAG_LISTING) && pre_depth_ > 0) --pre_depth_;
  }

  // Inside a list, blocks (an li's paragraphs) stay on the list's lines.
  TextBuilder::Break BlockBreak() const {
    return list_depth_ > 0 ? TextBuilder::Break::kLine : TextBuilder::Break::kParagraph;
  }

  TextBuilder* out_;
  const Deadline* deadline_;
  std::vector<Frame> stack_;
  std::vector<int> cells_;  // cells seen so far in each open row
  int list_depth_ = 0;
  int pre_depth_ = 0;
};

}  // namespace

std::string HtmlExtractor::version() const { return "html/1 gumbo-" BASALT_GUMBO_VERSION; }

bool HtmlExtractor::Accepts(std::string_view mime) const {
  return mime == "text/html" || mime == "application/xhtml+xml";
}

absl::StatusOr<Extracted> HtmlExtractor::Extract(std::string_view bytes,
                                                 const ExtractLimits& limits) const {
  const Deadline deadline(limits.max_time);
  if (bytes.size() > static_cast<size_t>(UINT32_MAX)) {
    return absl::InvalidArgumentError("html: the document is over 4 GiB");
  }
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
  // gumbo reads UTF-8 only and would stop at an invalid byte: repair first.
  const std::string clean = CleanUtf8(bytes);
  if (const int depth = EstimateHtmlDepth(clean); depth > kMaxHtmlDepth) {
    return absl::InvalidArgumentError(
        StrCat("html: elements nest ", depth, " deep, over the limit of ", kMaxHtmlDepth));
  }
  try {
    std::unique_ptr<GumboOutput, OutputDeleter> doc(
        gumbo_parse_with_options(&kGumboDefaultOptions, clean.data(), clean.size()));
    if (doc == nullptr) return absl::InternalError("html: the parser returned nothing");
    if (absl::Status s = deadline.Check(); !s.ok()) return s;
    std::string title;
    bool has_h1 = false;
    ScanTitle(doc->document, &title, &has_h1);
    TextBuilder builder(limits.max_text_bytes);
    if (!has_h1 && !IsBlank(title)) {
      builder.BeginHeading(1);
      builder.AddInline(title);
      builder.EndHeading();
    }
    Walker walker(&builder, &deadline);
    if (absl::Status s = walker.Run(doc->document); !s.ok()) return s;
    if (builder.over_limit()) return CheckTextSize(limits.max_text_bytes + 1, limits);
    Extracted out;
    builder.Finish(&out);
    out.mime = "text/html";
    out.extractor = std::string(name());
    out.version = version();
    return out;
  } catch (const std::exception& e) {
    return absl::InternalError(StrCat("html: ", e.what()));
  }
}

}  // namespace basalt::rag::extract
