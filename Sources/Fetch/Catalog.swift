// Every public dataset and file the project uses: where it is downloaded from (a commit-pinned URL
// where the source is a Git repository), its size and SHA-256, its licence, and the conversion to
// the files the commands read. The layout of each folder matches ../shared/data, so `--out` of an
// entry can stand in for the shared copy (`data/sst2` for `../shared/data/sst2`).
import Foundation

/// Where OpenAI published GPT-2's BPE files.
private let openAIEncodings = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/"

/// One fetchable entry: its files, their conversion, and its licence.
public struct CatalogEntry: Sendable, Equatable {
    /// The name given to `tinygpt fetch` (`sst2`).
    public var name: String
    /// One line on what it is.
    public var summary: String
    /// Licence terms, printed before the first download.
    public var licence: String
    /// Files downloaded, relative to the entry's folder.
    public var files: [RemoteFile]
    /// How the downloaded files become the files the commands read.
    public var conversion: Conversion
    /// Pinned SHA-256 of each converted file (by path); a converted file without one is not checked.
    public var converted: [String: String]

    public init(name: String, summary: String, licence: String, files: [RemoteFile],
                conversion: Conversion = .none, converted: [String: String] = [:]) {
        self.name = name
        self.summary = summary
        self.licence = licence
        self.files = files
        self.conversion = conversion
        self.converted = converted
    }
}

public enum Catalog {
    private static func raw(_ repo: String, _ commit: String, _ path: String) -> URL {
        URL(string: "https://raw.githubusercontent.com/\(repo)/\(commit)/\(path)")!
    }

    private static func huggingFace(_ repo: String, _ file: String) -> RemoteFile {
        RemoteFile(url: URL(string: "https://huggingface.co/openai-community/\(repo)/resolve/main/\(file)")!,
                   path: file, bytes: nil, sha256: nil)
    }

    /// One of GPT-2's four sizes on Hugging Face: the folder `tinygpt import --from` reads.
    private static func gpt2(_ name: String, _ size: String) -> CatalogEntry {
        CatalogEntry(
            name: name,
            summary: "GPT-2 \(size) weights and tokenizer from Hugging Face (openai-community/\(name)); "
                + "not pinned: the branch can change",
            licence: "GPT-2 weights: Modified MIT License (openai/gpt-2), as published by openai-community/\(name) "
                + "on Hugging Face.",
            files: ["config.json", "vocab.json", "merges.txt", "model.safetensors"].map { huggingFace(name, $0) })
    }

    static let qnn = "77f549372d4371e7f2d52e77bc18df5096dd4779"
    static let alpacaLora = "4247f486ca5751371a19fcec5061da437344824f"
    static let gradeSchoolMath = "3101c7d5072418e28b9008a6636bde82a006892c"

    /// All entries, in the order `tinygpt fetch --list` shows them.
    public static let entries: [CatalogEntry] = [
        CatalogEntry(
            name: "tinyshakespeare",
            summary: "tiny Shakespeare, 1,115,394 characters (karpathy/char-rnn)",
            licence: "tiny Shakespeare: public-domain text (Shakespeare's works), collected by Andrej Karpathy "
                + "for char-rnn (MIT licence).",
            files: [RemoteFile(url: URL(string: "https://raw.githubusercontent.com/karpathy/char-rnn/master/"
                                            + "data/tinyshakespeare/input.txt")!,
                               path: "tinyshakespeare.txt", bytes: 1_115_394,
                               sha256: "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed")]),
        CatalogEntry(
            name: "gpt2-bpe",
            summary: "GPT-2's byte-level BPE: encoder.json and vocab.bpe (OpenAI's originals)",
            licence: "GPT-2 BPE files: from OpenAI's GPT-2 release (openai/gpt-2), Modified MIT License.",
            files: [
                RemoteFile(url: URL(string: openAIEncodings + "encoder.json")!,
                           path: "encoder.json", bytes: 1_042_301,
                           sha256: "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"),
                RemoteFile(url: URL(string: openAIEncodings + "vocab.bpe")!,
                           path: "vocab.bpe", bytes: 456_318,
                           sha256: "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"),
            ]),
        CatalogEntry(
            name: "sst2",
            summary: "SST-2 sentiment (GLUE, SentEval's copy): 67,349 train / 872 dev rows of {text, label}",
            licence: "SST-2: no licence stated by the copies; SST (Socher et al. 2013) is distributed by Stanford "
                + "for research and redistributed by GLUE. Cite Socher et al. 2013 and Wang et al. 2018.",
            files: [
                RemoteFile(url: raw("FreedomIntelligence/qnn", qnn, "data/SST/Binary/sentiment-train"),
                           path: "orig/sentiment-train", bytes: 3_806_066,
                           sha256: "10a92a297ec38e262386e5a2713b4bc70e5d18ced88b7f54bd171a26e5b34ab5"),
                RemoteFile(url: raw("FreedomIntelligence/qnn", qnn, "data/SST/Binary/sentiment-dev"),
                           path: "orig/sentiment-dev", bytes: 94_916,
                           sha256: "9a6c7403b71a9b762158387afe4431253ae10cdfb2319b5275289f3766f48291"),
            ],
            conversion: .sst2,
            converted: ["train.jsonl": "26f32427216bc450b638671c59bc79b2409a7298622ae7d1b5969ca9ceb65cb2",
                        "dev.jsonl": "6de504ad9e129e7718245ae2baf32b282dd0c2eb849cb807615a013c8b3557d2"]),
        CatalogEntry(
            name: "alpaca-2k",
            summary: "2,000 Stanford Alpaca instructions: 1,800 train / 200 dev rows of {prompt, completion}",
            licence: "Alpaca data: CC BY-NC 4.0 (non-commercial, research use), tatsu-lab/stanford_alpaca; "
                + "attribute Taori et al. 2023.",
            files: [RemoteFile(url: raw("Antelofski/alpaca-lora", alpacaLora, "alpaca_small.json"),
                               path: "orig/alpaca_small.json", bytes: 883_962,
                               sha256: "da78d2d54637d8b7e210d1db495da09c0de3ac21067aefafef5da58586b45ce3")],
            conversion: .alpaca2k,
            converted: ["train.jsonl": "1899c1b18ecac12bca865e629d4b884267999005abbdd0734886a22793f6386f",
                        "dev.jsonl": "0bf5f52fccff032ed7cb52bdb15fec3538ac64a78a48ca6eb5c9355ff1c17754"]),
        CatalogEntry(
            name: "gsm8k",
            summary: "GSM8K grade-school math: 7,473 train / 1,319 test rows of {prompt, completion}",
            licence: "GSM8K: MIT License, Copyright (c) 2021 OpenAI (openai/grade-school-math; copy in LICENSE).",
            files: [
                RemoteFile(url: raw("openai/grade-school-math", gradeSchoolMath, "grade_school_math/data/train.jsonl"),
                           path: "orig/train.jsonl", bytes: 4_166_206,
                           sha256: "17f347dc51477c50d4efb83959dbb7c56297aba886e5544ee2aaed3024813465"),
                RemoteFile(url: raw("openai/grade-school-math", gradeSchoolMath, "grade_school_math/data/test.jsonl"),
                           path: "orig/test.jsonl", bytes: 749_738,
                           sha256: "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14"),
                RemoteFile(url: raw("openai/grade-school-math", gradeSchoolMath, "LICENSE"),
                           path: "LICENSE", bytes: 1_062,
                           sha256: "86bbb73e855821d7c401912fd4bf82e34313e6e3b6fd6f909f2b6cc9e209a53b"),
            ],
            conversion: .gsm8k,
            converted: ["train.jsonl": "3bdf540eb7977098d752b926d48d53a926df1e144eaf6d090a9ba551edc8f779",
                        "test.jsonl": "1058cd1e2e8df43ce40f5bfce11cacb1378922c9c4c688e087d089b0158a27fe"]),
        gpt2("gpt2", "small (124M)"),
        gpt2("gpt2-medium", "medium (355M)"),
        gpt2("gpt2-large", "large (774M)"),
        gpt2("gpt2-xl", "XL (1.5B)"),
    ]

    /// The entry called `name`, or an error listing the known names.
    public static func entry(named name: String) throws -> CatalogEntry {
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw FetchError.unknownName(name, known: entries.map(\.name))
        }
        return entry
    }
}
