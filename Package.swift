// swift-tools-version:6.0
// TinyGPT: train small GPT models on a CPU. Targets are listed in layer order;
// each layer imports only the layers above it in this list.
import PackageDescription

// Release numerics: no exclusivity checks in hot loops (kernels already work on raw pointers).
let fast: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "TinyGPT",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "tinygpt", targets: ["tinygpt"]),
        .library(name: "TinyGPT", targets: ["Kernels", "Autograd", "NN", "Optim", "Data", "Config", "Checkpoint",
                                            "Evaluate", "Train", "Planning", "Report", "Fetch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "Kernels", dependencies: ["COpenBLAS"], swiftSettings: fast),
        .target(name: "Collective", dependencies: ["CMPI"], swiftSettings: fast),
        .target(name: "Autograd", dependencies: ["Kernels"], swiftSettings: fast),
        .target(name: "NN", dependencies: ["Autograd", "Kernels"], swiftSettings: fast),
        .target(name: "Optim", dependencies: ["NN", "Autograd", "Kernels"], swiftSettings: fast),
        .target(name: "Data", dependencies: ["Kernels", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: fast),
        // Downloads of the public datasets and files the project uses, verified, and their conversions.
        .target(name: "Fetch", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Config", dependencies: ["NN"], swiftSettings: fast),
        .target(name: "Checkpoint", dependencies: ["Config", "Data", "Optim", "NN", "Autograd",
                                                   .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: fast),
        .target(name: "Evaluate", dependencies: ["Checkpoint", "Config", "Data", "NN", "Autograd", "Kernels"], swiftSettings: fast),
        .target(name: "Train", dependencies: ["Collective", "Evaluate", "Checkpoint", "Config", "Data", "Optim", "NN", "Autograd",
                                              "Kernels"], swiftSettings: fast),
        .target(name: "Report"),
        .target(name: "Planning", dependencies: ["Train", "Config", "Data", "NN", "Kernels"], swiftSettings: fast),
        .executableTarget(name: "tinygpt", dependencies: [
            "Report", "Fetch", "Planning", "Train", "Evaluate", "Checkpoint", "Config", "Data", "Optim", "NN", "Autograd",
            "Kernels",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: fast),
        .executableTarget(name: "Benchmarks", dependencies: ["Planning", "Train", "Config", "Data", "Optim", "NN", "Autograd", "Kernels", "COpenBLAS"], swiftSettings: fast),
        .target(name: "TestSupport", dependencies: ["Autograd", "Kernels"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "TestSupport"]),
        .testTarget(name: "AutogradTests", dependencies: ["Autograd", "Kernels", "TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Autograd", "Kernels", "TestSupport"]),
        .testTarget(name: "OptimTests", dependencies: ["Optim", "NN", "Autograd", "Kernels", "TestSupport"]),
        .testTarget(name: "DataTests", dependencies: ["Data", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "FetchTests", dependencies: ["Fetch", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "NN", "Optim", "Data", "Autograd", "Kernels", "TestSupport"]),
        .testTarget(name: "ReportTests", dependencies: ["Report"]),
        .testTarget(name: "TrainTests", dependencies: ["Planning", "Train", "Evaluate", "Checkpoint", "Config", "Data", "NN",
                                                  "Autograd", "Kernels", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
