return Protea.Cli.ProteaCli.Run(args, Console.Out, Console.Error);
