// CLIP's byte-level BPE tokenizer (ClipTokenizer in generate.hpp), read from the vocab.json and
// merges.txt every CLIP text encoder ships with.

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "artistry/error.hpp"
#include "artistry/generate.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

std::string utf8(std::uint32_t cp) {
    std::string s;
    if (cp < 0x80) {
        s += static_cast<char>(cp);
    } else if (cp < 0x800) {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        s += static_cast<char>(0xE0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
}

// GPT-2's reversible byte → printable character table: printable Latin-1 bytes stand for
// themselves, the others for code points from 256 up.
std::vector<std::string> byte_table() {
    std::vector<std::string> table(256);
    int next = 0;
    for (int b = 0; b < 256; ++b) {
        const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        table[static_cast<std::size_t>(b)] = utf8(
            printable ? static_cast<std::uint32_t>(b) : static_cast<std::uint32_t>(256 + next++));
    }
    return table;
}

std::string read_text(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(Status::not_found,
                    fmt::format("clip tokenizer: cannot read {} {}", what, path));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The length of the UTF-8 sequence starting with byte c (1 for stray continuation bytes).
std::size_t sequence_length(unsigned char c) {
    if (c >= 0xF0) return 4;
    if (c >= 0xE0) return 3;
    if (c >= 0xC0) return 2;
    return 1;
}

// CLIP's pre-tokenisation: lowercased text cut into words — contractions ('s 't 're 've 'm 'll
// 'd), runs of letters (non-ASCII code points count as letters), single digits, runs of other
// non-space characters.
std::vector<std::string> split_words(const std::string& raw) {
    std::string text;
    for (char c : raw) text += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::vector<std::string> words;
    const auto kind = [&](std::size_t i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x80 || std::isalpha(c)) return 'l';
        if (std::isdigit(c)) return 'd';
        if (std::isspace(c)) return ' ';
        return 'o';
    };
    std::size_t i = 0;
    while (i < text.size()) {
        const char k = kind(i);
        if (k == ' ') {
            ++i;
            continue;
        }
        if (text[i] == '\'') {
            bool matched = false;
            for (const char* c : {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"})
                if (text.compare(i, std::strlen(c), c) == 0) {
                    words.emplace_back(c);
                    i += std::strlen(c);
                    matched = true;
                    break;
                }
            if (matched) continue;
        }
        std::size_t j = i;
        if (k == 'd') {
            j = i + 1;
        } else {
            while (j < text.size() && kind(j) == k && (k != 'o' || text[j] != '\'' || j == i))
                j += k == 'l' ? sequence_length(static_cast<unsigned char>(text[j])) : 1;
        }
        words.push_back(text.substr(i, std::min(j, text.size()) - i));
        i = std::min(j, text.size());
    }
    return words;
}

}  // namespace

struct ClipTokenizer::Impl {
    std::unordered_map<std::string, std::int64_t> vocab;
    std::map<std::pair<std::string, std::string>, int> ranks;
    std::vector<std::string> bytes = byte_table();
    std::int64_t start = 0, end = 0;

    std::vector<std::string> bpe(const std::string& word) const {
        std::vector<std::string> symbols;
        for (unsigned char c : word) symbols.push_back(bytes[c]);
        if (symbols.empty()) return symbols;
        symbols.back() += "</w>";
        while (symbols.size() > 1) {
            int best = INT_MAX;
            std::size_t at = 0;
            for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
                const auto found = ranks.find({symbols[i], symbols[i + 1]});
                if (found != ranks.end() && found->second < best) {
                    best = found->second;
                    at = i;
                }
            }
            if (best == INT_MAX) break;
            // Merge every occurrence of the best pair, left to right.
            const std::string a = symbols[at], b = symbols[at + 1];
            std::vector<std::string> merged;
            for (std::size_t i = 0; i < symbols.size(); ++i) {
                if (i + 1 < symbols.size() && symbols[i] == a && symbols[i + 1] == b) {
                    merged.push_back(a + b);
                    ++i;
                } else {
                    merged.push_back(symbols[i]);
                }
            }
            symbols = std::move(merged);
        }
        return symbols;
    }
};

ClipTokenizer::ClipTokenizer(const std::string& vocab_json_path,
                             const std::string& merges_txt_path) {
    auto impl = std::make_shared<Impl>();
    try {
        const auto vocab = nlohmann::json::parse(read_text(vocab_json_path, "vocabulary"));
        if (!vocab.is_object()) throw Error(Status::decode_error, "not a JSON object");
        for (const auto& [piece, id] : vocab.items()) impl->vocab[piece] = id.get<std::int64_t>();
    } catch (const nlohmann::json::exception& e) {
        throw Error(Status::decode_error,
                    fmt::format("clip tokenizer: {}: {}", vocab_json_path, e.what()));
    }
    for (const char* special : {"<|startoftext|>", "<|endoftext|>"})
        if (!impl->vocab.count(special))
            throw Error(Status::decode_error, fmt::format("clip tokenizer: {} has no {} token",
                                                          vocab_json_path, special));
    impl->start = impl->vocab.at("<|startoftext|>");
    impl->end = impl->vocab.at("<|endoftext|>");
    std::istringstream merges(read_text(merges_txt_path, "merges"));
    std::string line;
    int rank = 0;
    while (std::getline(merges, line)) {
        if (line.empty() || line.rfind("#version", 0) == 0) continue;
        const auto space = line.find(' ');
        if (space == std::string::npos)
            throw Error(
                Status::decode_error,
                fmt::format("clip tokenizer: {}: line '{}' is not a pair", merges_txt_path, line));
        impl->ranks.emplace(std::make_pair(line.substr(0, space), line.substr(space + 1)), rank++);
    }
    impl_ = std::move(impl);
}

std::vector<std::string> ClipTokenizer::pieces(const std::string& text) const {
    std::vector<std::string> out;
    for (const auto& word : split_words(text))
        for (auto& piece : impl_->bpe(word)) out.push_back(std::move(piece));
    return out;
}

std::vector<std::int64_t> ClipTokenizer::encode(const std::string& text, int length) const {
    if (length < 2) throw Error(Status::invalid_argument, "clip tokenizer: length must be >= 2");
    std::vector<std::int64_t> ids{impl_->start};
    for (const auto& piece : pieces(text)) {
        if (static_cast<int>(ids.size()) == length - 1) break;
        const auto found = impl_->vocab.find(piece);
        if (found == impl_->vocab.end())
            throw Error(Status::invalid_argument,
                        fmt::format("clip tokenizer: '{}' is not in the vocabulary", piece));
        ids.push_back(found->second);
    }
    ids.push_back(impl_->end);
    ids.resize(static_cast<std::size_t>(length), impl_->end);
    return ids;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
