// The whole of pwsh: PowerShell's own console host, from Microsoft.PowerShell.SDK.
return Microsoft.PowerShell.UnmanagedPSEntry.Start(args, args.Length);
