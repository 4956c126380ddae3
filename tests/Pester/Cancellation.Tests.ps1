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

    function Get-ServerProcess([string] $Directory, [string] $Name = 'postgres') {
        # postgres and pg_basebackup show the data directory on their command line (-D); nothing else of PgDr runs there.
        @(Get-Process $Name -ErrorAction SilentlyContinue | Where-Object { $_.CommandLine -like "*$Directory*" })
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

    It 'stops New-PgStandby -Force during the copy and returns only once the standby it replaces runs again' {
        # Rebuilding a standby in place: -Force sets its directory aside and copies anew. Ctrl+C in the copy must give
        # back the old standby, and the prompt must come back only when it has: running, streaming, nothing set aside.
        $path = Join-Path $work 'reclone'
        $sandbox = New-PgDrSandbox -Path $path -StandbyCount 1 -Confirm:$false
        $standby = $sandbox.Nodes[1]
        $env:PGPASSFILE = Join-Path $path '.pgpass'
        # About 300 MB, so that the copy lasts long enough to be stopped in the middle.
        "CREATE TABLE filler AS SELECT g, repeat('x', 400) AS pad FROM generate_series(1, 700000) g; CHECKPOINT;" |
            & (Join-Path $sandbox.Binaries.Directory 'psql') -X -q -v ON_ERROR_STOP=1 -h $sandbox.Primary.Instance.Host -p $sandbox.Primary.Instance.Port -U postgres -d postgres -f - | Out-Null
        Remove-Item Env:PGPASSFILE
        $run = Start-InNewPipeline New-PgStandby @{
            Instance = $sandbox.Primary.Instance; DataDirectory = $standby.DataDirectory; Name = $standby.Name; SlotName = $standby.SlotName
            Port = $standby.Port; Force = $true; PasswordFile = (Join-Path $path '.pgpass')
            ReplicationCredential = (Get-PgDrSandboxCredential -Path $path -User pgdr_replicator)
            BinDirectory = $sandbox.Binaries.Directory; Service = 'pg_ctl'; Confirm = $false
        }
        $deadline = [DateTime]::UtcNow.AddMinutes(2)
        while (-not (Get-ServerProcess $standby.DataDirectory pg_basebackup) -and -not $run.Async.IsCompleted -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        Get-ServerProcess $standby.DataDirectory pg_basebackup | Should -Not -BeNullOrEmpty -Because 'the test must stop the copy while it runs'

        $run.PowerShell.Stop()

        # Right when the prompt comes back: nothing of the copy is left and the old standby runs again (pg_ctl start
        # returned, so its server accepts connections). Before, the command returned while that was still under way.
        # (postmaster.pid first: it is the quickest look; Get-Process takes long enough to hide a late start.)
        $runningAtReturn = Test-Path (Join-Path $standby.DataDirectory 'postmaster.pid')
        $serversAtReturn = Get-ServerProcess $standby.DataDirectory
        $copiesAtReturn = Get-ServerProcess $standby.DataDirectory pg_basebackup
        $setAsideAtReturn = @(Get-ChildItem $path -Filter '*pgdr-replaced*')
        $run.PowerShell.InvocationStateInfo.State | Should -Be 'Stopped'
        $run.PowerShell.Dispose()
        $runningAtReturn | Should -BeTrue -Because 'the standby that was set aside must be running again'
        $serversAtReturn | Should -Not -BeNullOrEmpty
        $copiesAtReturn | Should -BeNullOrEmpty
        $setAsideAtReturn | Should -BeNullOrEmpty
        (Get-PgDrNode $standby.Instance).Role | Should -Be 'Standby'
        Remove-PgDrSandbox -Path $path -Confirm:$false
    }
}
