import Foundation

// The `controller` executable: parse the command line, run one command, exit with its status.
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "run": exit(await RunCommand.run(Array(arguments.dropFirst())))
case "diff": exit(await DiffCommand.run(Array(arguments.dropFirst())))
case "status", "health": exit(await StatusCommand.run(arguments[0], Array(arguments.dropFirst())))
default: break
}
exit(CommandRouter.run(arguments))
