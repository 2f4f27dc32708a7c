// EstimateHtmlDepth (html_extractor.h): one linear pass over the tags with a
// simplified tree builder. It errs high: it closes an element only on its own
// end tag or on the implied closes the parser certainly makes (p by a block,
// li, dd/dt, td/th, tr and option by their siblings, each searched a bounded
// way down the stack), so a document it passes is no deeper than it says.
#include <gumbo.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <initializer_list>
#include <vector>

#include "rag/extract/html_extractor.h"

namespace basalt::rag::extract {
namespace {

bool IsVoid(GumboTag t) {
  switch (t) {
    case GUMBO_TAG_AREA:
    case GUMBO_TAG_BASE:
    case GUMBO_TAG_BR:
    case GUMBO_TAG_COL:
    case GUMBO_TAG_EMBED:
    case GUMBO_TAG_HR:
    case GUMBO_TAG_IMG:
    case GUMBO_TAG_INPUT:
    case GUMBO_TAG_LINK:
    case GUMBO_TAG_META:
    case GUMBO_TAG_PARAM:
    case GUMBO_TAG_SOURCE:
    case GUMBO_TAG_TRACK:
    case GUMBO_TAG_WBR:
    case GUMBO_TAG_KEYGEN:
    case GUMBO_TAG_BASEFONT:
    case GUMBO_TAG_BGSOUND:
    case GUMBO_TAG_FRAME:
      return true;
    default:
      return false;
  }
}

bool IsRawText(GumboTag t) {
  switch (t) {
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_TEXTAREA:
    case GUMBO_TAG_TITLE:
    case GUMBO_TAG_XMP:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_NOEMBED:
    case GUMBO_TAG_NOFRAMES:
      return true;
    default:
      return false;
  }
}

bool ClosesP(GumboTag t) {
  switch (t) {
    case GUMBO_TAG_ADDRESS:
    case GUMBO_TAG_ARTICLE:
    case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_BLOCKQUOTE:
    case GUMBO_TAG_CENTER:
    case GUMBO_TAG_DETAILS:
    case GUMBO_TAG_DIR:
    case GUMBO_TAG_DIV:
    case GUMBO_TAG_DL:
    case GUMBO_TAG_FIELDSET:
    case GUMBO_TAG_FIGCAPTION:
    case GUMBO_TAG_FIGURE:
    case GUMBO_TAG_FOOTER:
    case GUMBO_TAG_FORM:
    case GUMBO_TAG_H1:
    case GUMBO_TAG_H2:
    case GUMBO_TAG_H3:
    case GUMBO_TAG_H4:
    case GUMBO_TAG_H5:
    case GUMBO_TAG_H6:
    case GUMBO_TAG_HEADER:
    case GUMBO_TAG_HGROUP:
    case GUMBO_TAG_HR:
    case GUMBO_TAG_MAIN:
    case GUMBO_TAG_MENU:
    case GUMBO_TAG_NAV:
    case GUMBO_TAG_OL:
    case GUMBO_TAG_P:
    case GUMBO_TAG_PRE:
    case GUMBO_TAG_SECTION:
    case GUMBO_TAG_SUMMARY:
    case GUMBO_TAG_TABLE:
    case GUMBO_TAG_UL:
    case GUMBO_TAG_LI:
    case GUMBO_TAG_DD:
    case GUMBO_TAG_DT:
    case GUMBO_TAG_LISTING:
      return true;
    default:
      return false;
  }
}

// Elements that end the search for an element to close implicitly (the
// parser's "scope" boundaries).
bool IsScopeBoundary(GumboTag t) {
  switch (t) {
    case GUMBO_TAG_HTML:
    case GUMBO_TAG_TABLE:
    case GUMBO_TAG_TD:
    case GUMBO_TAG_TH:
    case GUMBO_TAG_CAPTION:
    case GUMBO_TAG_BUTTON:
    case GUMBO_TAG_MARQUEE:
    case GUMBO_TAG_OBJECT:
    case GUMBO_TAG_APPLET:
    case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_SVG:
    case GUMBO_TAG_MATH:
      return true;
    default:
      return false;
  }
}

// The search for an implied close looks this far down the stack at most; past
// it the element is assumed open (the estimate errs high, never low).
constexpr size_t kMaxScopeWalk = 64;

class DepthScanner {
 public:
  explicit DepthScanner(std::string_view s) : s_(s) { counts_.fill(0); }

  int Run() {
    size_t i = 0;
    while (true) {
      i = s_.find('<', i);
      if (i == std::string_view::npos || i + 1 >= s_.size()) break;
      const char c = s_[i + 1];
      if (s_.compare(i, 4, "<!--") == 0) {
        const size_t e = s_.find("-->", i + 4);
        if (e == std::string_view::npos) break;
        i = e + 3;
      } else if (c == '!' || c == '?') {
        i = SkipTag(i + 2);
      } else if (c == '/' && i + 2 < s_.size() &&
                 std::isalpha(static_cast<unsigned char>(s_[i + 2]))) {
        size_t end;
        const GumboTag t = Name(i + 2, &end);
        EndTag(t);
        i = SkipTag(end);
      } else if (std::isalpha(static_cast<unsigned char>(c))) {
        size_t end;
        const GumboTag t = Name(i + 1, &end);
        bool self_closing = false;
        i = SkipTag(end, &self_closing);
        if (t == GUMBO_TAG_PLAINTEXT) break;  // everything after it is text
        if (IsRawText(t)) {
          i = SkipRawText(i, t);
          continue;
        }
        StartTag(t, self_closing);
      } else {
        i += 1;
      }
    }
    return max_depth_;
  }

 private:
  GumboTag Name(size_t b, size_t* end) const {
    size_t e = b;
    while (e < s_.size() && !std::isspace(static_cast<unsigned char>(s_[e])) && s_[e] != '/' &&
           s_[e] != '>') {
      ++e;
    }
    *end = e;
    return gumbo_tagn_enum(s_.data() + b, static_cast<unsigned>(e - b));
  }

  // The position after the tag's '>' (quoted attribute values may hold '>').
  size_t SkipTag(size_t i, bool* self_closing = nullptr) const {
    char quote = 0;
    for (; i < s_.size(); ++i) {
      const char c = s_[i];
      if (quote != 0) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        if (self_closing != nullptr) *self_closing = i > 0 && s_[i - 1] == '/';
        return i + 1;
      }
    }
    return s_.size();
  }

  size_t SkipRawText(size_t i, GumboTag t) const {
    const std::string_view name = gumbo_normalized_tagname(t);
    for (i = s_.find("</", i); i != std::string_view::npos; i = s_.find("</", i + 2)) {
      if (i + 2 + name.size() <= s_.size()) {
        bool same = true;
        for (size_t k = 0; k < name.size() && same; ++k) {
          same = std::tolower(static_cast<unsigned char>(s_[i + 2 + k])) == name[k];
        }
        if (same) return SkipTag(i + 2 + name.size());
      }
    }
    return s_.size();
  }

  void StartTag(GumboTag t, bool self_closing) {
    if (IsVoid(t)) return;
    // In SVG and MathML "<x/>" really closes; in HTML it does not.
    const bool foreign = counts_[GUMBO_TAG_SVG] > 0 || counts_[GUMBO_TAG_MATH] > 0;
    if (self_closing && (foreign || t == GUMBO_TAG_SVG || t == GUMBO_TAG_MATH)) return;
    // The implied closes the parser certainly makes.
    if (ClosesP(t)) CloseImplied({GUMBO_TAG_P}, {});
    if (t == GUMBO_TAG_LI) CloseImplied({GUMBO_TAG_LI}, {GUMBO_TAG_UL, GUMBO_TAG_OL});
    if (t == GUMBO_TAG_DD || t == GUMBO_TAG_DT) {
      CloseImplied({GUMBO_TAG_DD, GUMBO_TAG_DT}, {GUMBO_TAG_DL});
    }
    if (t == GUMBO_TAG_TD || t == GUMBO_TAG_TH || t == GUMBO_TAG_TR) {
      CloseImplied({GUMBO_TAG_TD, GUMBO_TAG_TH}, {GUMBO_TAG_TR, GUMBO_TAG_TABLE});
    }
    if (t == GUMBO_TAG_TR) CloseImplied({GUMBO_TAG_TR}, {GUMBO_TAG_TABLE});
    if (t == GUMBO_TAG_OPTION && !stack_.empty() && stack_.back() == GUMBO_TAG_OPTION) Pop();
    stack_.push_back(t);
    ++counts_[t];
    if (static_cast<int>(stack_.size()) > max_depth_) max_depth_ = static_cast<int>(stack_.size());
  }

  // Pops through the nearest open element of `targets` when one is found
  // before a scope boundary, an element of `stops`, or kMaxScopeWalk elements.
  void CloseImplied(std::initializer_list<GumboTag> targets,
                    std::initializer_list<GumboTag> stops) {
    bool any = false;
    for (GumboTag t : targets) any = any || counts_[t] > 0;
    if (!any) return;
    auto in = [](GumboTag t, std::initializer_list<GumboTag> set) {
      return std::find(set.begin(), set.end(), t) != set.end();
    };
    for (size_t k = 0; k < stack_.size() && k < kMaxScopeWalk; ++k) {
      const GumboTag t = stack_[stack_.size() - 1 - k];
      if (in(t, targets)) {
        for (size_t pops = 0; pops <= k; ++pops) Pop();
        return;
      }
      if (IsScopeBoundary(t) || in(t, stops)) return;
    }
  }

  void EndTag(GumboTag t) {
    if (counts_[t] == 0) return;
    while (!stack_.empty()) {
      const GumboTag top = stack_.back();
      Pop();
      if (top == t) break;
    }
  }

  void Pop() {
    --counts_[stack_.back()];
    stack_.pop_back();
  }

  std::string_view s_;
  std::vector<GumboTag> stack_;
  std::array<int, GUMBO_TAG_LAST + 1> counts_;
  int max_depth_ = 0;
};

}  // namespace

int EstimateHtmlDepth(std::string_view html) { return DepthScanner(html).Run(); }

}  // namespace basalt::rag::extract
