#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# New-PgStandby and Set-PgSynchronousReplication as an admin uses them, on a real sandbox primary: a standby built beside
# it through its own slot, then made synchronous. Needs the module built (./build.sh test builds it); runs as root too (CI).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PgDrTestSupport.psm1') -Force
    Import-Module (Get-PgDrModulePath) -Force
    $work = New-PgDrTestDirectory -Label 'standby'
    $sandbox = New-PgDrSandbox -Path (Join-Path $work 'sandbox') -StandbyCount 0 -Confirm:$false
    $primary = $sandbox.Primary.Instance
    # The standby's data directory, its password file and its log go in a folder the postgres account owns.
    $standbys = New-Item -ItemType Directory -Path (Join-Path $work 'standbys')
    Grant-PostgresAccess $standbys.FullName
    $dataDirectory = Join-Path $standbys 'pester-standby'
    $replication = Get-PgDrSandboxCredential -Path $sandbox.Directory -User pgdr_replicator
    $standbyArguments = @{
        DataDirectory         = $dataDirectory
        Name                  = 'pester-standby'
        CreateSlot            = $true
        ReplicationCredential = $replication
        Port                  = Get-PgDrFreePort
        BinDirectory          = $sandbox.Binaries.Directory
    }
}

AfterAll {
    if ($work -and (Test-Path $work)) {
        if ($primary) { Set-PgSynchronousReplication $primary -Off -Confirm:$false -ErrorAction SilentlyContinue }
        Stop-PgDrTestServer -DataDirectory $dataDirectory -Sandbox $sandbox
        Remove-PgDrSandbox -Path (Join-Path $work 'sandbox') -Confirm:$false -ErrorAction SilentlyContinue
        Remove-Item $work -Recurse -Force
    }
}

Describe 'New-PgStandby' {
    It 'changes nothing under -WhatIf, not even the slot' {
        New-PgStandby $primary @standbyArguments -WhatIf
        Test-Path $dataDirectory | Should -BeFalse
        { Get-PgReplicationSlot $primary -Name pester_standby -ErrorAction Stop } | Should -Throw -ErrorId 'ReplicationSlotNotFound,*'
    }

    It 'refuses wrong replication credentials with AuthenticationFailed, without the password, and makes nothing' {
        $wrong = [pscredential]::new('pgdr_replicator', (ConvertTo-SecureString 'not-the-password' -AsPlainText -Force))
        $arguments = $standbyArguments.Clone()
        $arguments.ReplicationCredential = $wrong
        New-PgStandby $primary @arguments -Confirm:$false -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
        $failures[0].ToString() | Should -Not -Match 'not-the-password'
        Test-Path $dataDirectory | Should -BeFalse
    }

    It 'builds a standby from a piped node that streams, with the time of each step, and pipes into Get-PgReplicationLag' {
        $standby = Get-PgDrNode $primary | New-PgStandby @standbyArguments -Confirm:$false
        $standby.Node.ReceiverStatus | Should -Be 'streaming'
        $standby.SlotCreated | Should -BeTrue
        $standby.Steps.Name | Should -Be @('checks', 'slot', 'base backup', 'configure', 'start', 'streaming')
        ($standby | Get-PgReplicationLag).State | Should -Be 'streaming'
        (Get-PgReplicationLag $primary | Where-Object StandbyName -eq 'pester-standby').State | Should -Be 'streaming'
        Get-PgDrTableView $standby -Column Name, Node, Upstream, Copied, Took | Should -Match 'pester-standby'
    }

    It 'refuses the same directory again with DataDirectoryNotEmpty and leaves the standby streaming' {
        { New-PgStandby $primary @standbyArguments -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'DataDirectoryNotEmpty,*'
        (Get-PgReplicationLag $primary | Where-Object StandbyName -eq 'pester-standby').State | Should -Be 'streaming'
    }
}

Describe 'Set-PgSynchronousReplication' {
    It 'changes nothing under -WhatIf' {
        Set-PgSynchronousReplication $primary -StandbyName pester-standby -SynchronousCommit remote_apply -WhatIf
        (Get-PgReplicationLag $primary | Where-Object StandbyName -eq 'pester-standby').SyncState | Should -Be 'async'
    }

    It 'refuses a standby that is not connected with SynchronousStandbyNotConnected' {
        { Set-PgSynchronousReplication $primary -StandbyName pester-standbby -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'SynchronousStandbyNotConnected,*'
    }

    It 'makes the new standby synchronous with remote_apply, old -> new, and the lag shows it sync' {
        $change = Get-PgDrNode $primary | Set-PgSynchronousReplication -StandbyName pester-standby -SynchronousCommit remote_apply -Confirm:$false
        $change.Applied | Should -BeTrue
        $change.Settings[0].OldValue | Should -Be ''
        $change.Settings[0].NewValue | Should -Be 'FIRST 1 ("pester-standby")'
        $change.Settings[1].NewValue | Should -Be 'remote_apply'
        (Get-PgReplicationLag $primary | Where-Object StandbyName -eq 'pester-standby').SyncState | Should -Be 'sync'
        Get-PgDrTableView $change -Column Node, Applied, StandbyNames, Commit, Missing | Should -Match 'remote_apply'
    }

    It 'turns it off with -Off' {
        $change = Set-PgSynchronousReplication $primary -Off -Confirm:$false
        $change.Settings[0].NewValue | Should -Be ''
        (Get-PgReplicationLag $primary | Where-Object StandbyName -eq 'pester-standby').SyncState | Should -Be 'async'
    }
}
