using Protea.Cli;

// Native libraries' warnings go to a log file unless --verbose asks to see them (see NativeNoise).
var stderr = args.Contains(ProteaCli.VerboseFlag) ? Console.Error : NativeNoise.Divert();
return ProteaCli.Run(args, Console.Out, stderr);
