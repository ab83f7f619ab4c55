import Foundation

// The `controller` executable: parse the command line, run one command, exit with its status.
let status = CommandRouter.run(Array(CommandLine.arguments.dropFirst()))
exit(status)
