// swift-tools-version:6.0
import PackageDescription

// Numeric kernels are compiled optimised in every configuration, so that debug
// test runs are not 50x slower than release.
let optimised: [SwiftSetting] = [.unsafeFlags(["-O"])]

let package = Package(
    name: "Refold",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "refold", targets: ["refold"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // MARK: System libraries (module map + shim header)
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CGSL", path: "Sources/CGSL", pkgConfig: "gsl"),
        .systemLibrary(name: "CFFTW", path: "Sources/CFFTW", pkgConfig: "fftw3"),
        // Open MPI (Debian libopenmpi-dev); its pkg-config name is ompi-c.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c"),

        // MARK: Engine
        .target(name: "Tensor", dependencies: ["CBLAS", "CGSL"], swiftSettings: optimised),
        // The MPI layer: rank, size, barrier, broadcast, allreduce, gather; one process without mpirun.
        .target(name: "Parallel", dependencies: ["CMPI", "Tensor"], swiftSettings: optimised),
        .target(name: "Autograd", dependencies: ["Tensor", "Parallel"], swiftSettings: optimised),
        .target(name: "NN", dependencies: ["Autograd"], swiftSettings: optimised),
        .target(name: "Flows", dependencies: ["Tensor", "Autograd", "NN", "CGSL"], swiftSettings: optimised),
        .target(name: "GAN", dependencies: ["Tensor", "NN", "Flows"], swiftSettings: optimised),

        // MARK: Physics and toys
        // The one strict TOML reader (study specs, detector cards): errors at file:line: key.path.
        .target(name: "Config", dependencies: ["Tensor", "TOMLKit"]),
        .target(name: "Physics", dependencies: ["Tensor", "CGSL", "Config"], swiftSettings: optimised),
        .target(name: "ToyModels", dependencies: ["Tensor", "Unfolding", "CGSL", "CFFTW"], swiftSettings: optimised),
        .target(name: "Unfolding", dependencies: ["Tensor", "CGSL"], swiftSettings: optimised),
        // Per-event likelihoods p(x_d | theta) for the matrix element method.
        .target(name: "Inference", dependencies: ["Physics", "Tensor", "Parallel", "Autograd", "NN", "Flows", "CGSL"], swiftSettings: optimised),

        // MARK: Validation and reports
        .target(name: "Validation", dependencies: ["Tensor", "CGSL", "Config"]),
        .target(name: "Reporting", dependencies: ["Tensor", "Parallel", "Validation"]),
        // Every trainable unfolding or density model behind one `ModelFolder` protocol, the event
        // coordinate maps behind one `EventCoordinateMap` protocol, and the training entry points.
        .target(name: "Unfolders",
                dependencies: ["Tensor", "Parallel", "Autograd", "Flows", "GAN", "Physics", "Inference", "Validation"]),
        // The study runners: generators + networks + checks + plots, one file per study.
        .target(name: "Studies",
                dependencies: ["Config", "Tensor", "Flows", "GAN", "Physics", "Inference", "ToyModels", "Unfolding", "Unfolders", "Validation", "CGSL"]),

        // MARK: Command line
        .executableTarget(name: "refold", dependencies: [
            "CBLAS", "Tensor", "Parallel", "Autograd", "NN", "Flows", "GAN", "Physics", "Inference", "ToyModels", "Unfolding", "Unfolders", "Validation", "Reporting", "Studies",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: Tests
        // Each source target's dependencies are exactly the modules its files import
        // (Tests/TensorTests/PackageEdgeTests.swift checks it).
        .target(name: "TestSupport", dependencies: ["Tensor", "Autograd"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"]),
        .testTarget(name: "ParallelTests", dependencies: ["Parallel", "Tensor", "TestSupport"]),
        .testTarget(name: "AutogradTests", dependencies: ["Autograd", "TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TestSupport"]),
        .testTarget(name: "FlowsTests", dependencies: ["Flows", "Autograd", "Tensor", "TestSupport"]),
        .testTarget(name: "GANTests", dependencies: ["GAN", "Tensor", "TestSupport"]),
        .testTarget(name: "PhysicsTests", dependencies: ["Physics", "Tensor", "TestSupport"]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "Flows", "NN", "Physics", "Tensor", "TestSupport"]),
        .testTarget(name: "ToyModelsTests", dependencies: ["ToyModels", "Tensor", "TestSupport"]),
        .testTarget(name: "UnfoldingTests", dependencies: ["Unfolding", "ToyModels", "Tensor", "TestSupport"]),
        .testTarget(name: "ValidationTests", dependencies: ["Validation", "Config", "Tensor", "TestSupport"]),
        .testTarget(name: "ReportingTests", dependencies: ["Reporting", "Validation", "Tensor", "TestSupport"]),
        .testTarget(name: "UnfoldersTests", dependencies: ["Unfolders", "Autograd", "Flows", "GAN", "Inference", "Physics", "Tensor", "TestSupport"]),
        .testTarget(name: "StudiesTests", dependencies: ["Studies", "Unfolders", "Config", "Autograd", "Flows", "GAN", "Inference", "Physics", "Tensor", "Validation", "TestSupport"]),
        // Runs the built `refold` executable (swift build --build-tests puts it next to the tests);
        // Physics reads the Pythia reference chain's samples.
        .testTarget(name: "RefoldCLITests", dependencies: ["Physics", "Tensor", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
