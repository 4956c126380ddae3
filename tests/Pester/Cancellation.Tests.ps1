#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Long work seen from a host: progress records while a sandbox is built, and Ctrl+C (PowerShell.Stop, which calls the
# cmdlet's StopProcessing exactly as the console's Ctrl+C does) in the middle of New-PgDrSandbox, which must leave no
# server running and no directory behind. Each runs in a PowerShell instance of this process, as a host runs a pipeline.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PgDrTestSupport.psm1') -Force
    $modulePath = Get-PgDrModulePath
    Import-Module $modulePath -Force
    $work = New-PgDrTestDirectory -Label 'cancel'

    function Start-InNewPipeline([string] $Command, [hashtable] $Parameters) {
        $ps = [powershell]::Create()
        $null = $ps.AddCommand('Import-Module').AddArgument($modulePath).AddStatement().AddCommand($Command).AddParameters($Parameters)
        [pscustomobject]@{ PowerShell = $ps; Async = $ps.BeginInvoke() }
    }

    function Get-ServerProcess([string] $Directory) {
        # postgres shows its data directory on its command line (-D); nothing else of PgDr runs there.
        @(Get-Process postgres -ErrorAction SilentlyContinue | Where-Object { $_.CommandLine -like "*$Directory*" })
    }
}

AfterAll {
    if ($work -and (Test-Path $work)) {
        Get-ChildItem $work -Directory | ForEach-Object { Remove-PgDrSandbox -Path $_.FullName -Confirm:$false -ErrorAction SilentlyContinue }
        Remove-Item $work -Recurse -Force
    }
}

Describe 'Write-Progress on long work' {
    It 'New-PgDrSandbox reports each step with a percentage, then completes the activity' {
        $path = Join-Path $work 'progress'
        $run = Start-InNewPipeline New-PgDrSandbox @{ Path = $path; StandbyCount = 1; Confirm = $false }
        $sandbox = $run.PowerShell.EndInvoke($run.Async)
        $progress = @($run.PowerShell.Streams.Progress)
        $run.PowerShell.Dispose()
        $sandbox.Nodes.Count | Should -Be 2
        $steps = @($progress | Where-Object RecordType -eq 'Processing')
        $steps.Count | Should -BeGreaterThan 1
        $steps | ForEach-Object { $_.PercentComplete | Should -BeIn (0..100) }
        $steps.StatusDescription | Should -Not -Contain $null
        $progress[-1].RecordType | Should -Be 'Completed'
        Remove-PgDrSandbox -Path $path -Confirm:$false
    }
}

Describe 'Ctrl+C (StopProcessing)' {
    It 'stops New-PgDrSandbox half-way and leaves no server running and no directory' {
        $path = Join-Path $work 'stopped'
        $run = Start-InNewPipeline New-PgDrSandbox @{ Path = $path; StandbyCount = 2; Confirm = $false }
        # Stop when it is most dangerous: the primary runs and the standbys are being cloned.
        $deadline = [DateTime]::UtcNow.AddMinutes(3)
        while (-not (Get-ServerProcess $path) -and -not $run.Async.IsCompleted -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        Get-ServerProcess $path | Should -Not -BeNullOrEmpty -Because 'the test must stop the build while a server runs'
        $run.PowerShell.Stop()
        $run.PowerShell.InvocationStateInfo.State | Should -Be 'Stopped'
        $run.PowerShell.EndInvoke($run.Async) | Should -BeNullOrEmpty -Because 'a stopped build returns no sandbox'
        $run.PowerShell.Dispose()
        Get-ServerProcess $path | Should -BeNullOrEmpty
        Test-Path $path | Should -BeFalse
    }
}
