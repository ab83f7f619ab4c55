import Foundation

// The `controller` executable: parse the command line, run one command, exit with its status.
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "run" {
    exit(await RunCommand.run(Array(arguments.dropFirst())))
}
exit(CommandRouter.run(arguments))
