using PgDr.Cli;

return await PgDrCli.RunAsync(args).ConfigureAwait(false);
