// tinygpt: pretrain, fine-tune, evaluate and sample small GPT models on a CPU.
import ArgumentParser
import Kernels

struct TinyGPT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tinygpt",
        abstract: "Train small GPT models on a CPU: prepare data, pretrain, sample.",
        subcommands: [PrepareCommand.self, PretrainCommand.self, PlanCommand.self, FinetuneCommand.self,
                      EvalCommand.self, SampleCommand.self, ImportCommand.self, ExportCommand.self,
                      ReportCommand.self, FetchCommand.self])
}

BLASCore.selectFastKernels()
TinyGPT.main()
