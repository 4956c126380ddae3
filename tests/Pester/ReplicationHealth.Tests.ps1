#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# The replication-health cmdlets against a real sandbox topology, as an admin or a runbook uses them.
# Run through ./build.ps1 -Task Test (which builds the module first).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PgDrTestSupport.psm1') -Force
    $modulePath = Get-PgDrModulePath
    Import-Module $modulePath -Force
    $sandboxPath = Join-Path (New-PgDrTestDirectory -Label 'replication') 'sandbox'
    $sandbox = New-PgDrSandbox -Path $sandboxPath -StandbyCount 2 -Cascading -Confirm:$false
    $primary = $sandbox.Primary.Instance
    $wrongCredential = [pscredential]::new('postgres', (ConvertTo-SecureString 'not-the-password' -AsPlainText -Force))
}

AfterAll {
    if ($sandboxPath -and (Test-Path $sandboxPath)) {
        Remove-PgDrSandbox -Path $sandboxPath -Confirm:$false
        Remove-Item (Split-Path $sandboxPath) -Recurse -Force
    }
}

Describe 'Module surface' {
    It 'exports exactly the cmdlets the manifest lists' {
        $manifest = Test-ModuleManifest $modulePath
        $exported = (Get-Command -Module PgDr).Name | Sort-Object
        $exported | Should -Be ($manifest.ExportedCmdlets.Keys | Sort-Object)
    }

    It 'declares an output type on every cmdlet' {
        Get-Command -Module PgDr | ForEach-Object { $_.OutputType | Should -Not -BeNullOrEmpty -Because $_.Name }
    }
}

Describe 'Get-PgDrNode' {
    It 'reads every sandbox node piped by property name' {
        $nodes = $sandbox.Nodes | Get-PgDrNode
        $nodes | Should -HaveCount 4
        ($nodes | Where-Object Role -eq 'Primary').ClusterName | Should -Be 'region-a'
        ($nodes | Where-Object ClusterName -eq 'region-b2').Upstream | Should -Be $sandbox.Nodes[1].Instance.Name
    }

    It 'turns an unreachable host into a HostUnreachable error and goes on with the next instance' {
        $nodes = Get-PgDrNode '127.0.0.1:1', $primary -ErrorVariable failures -ErrorAction SilentlyContinue
        $nodes | Should -HaveCount 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'HostUnreachable,*'
        $failures[0].CategoryInfo.Category | Should -Be 'ConnectionError'
    }

    It 'reports a wrong password as AuthenticationFailed without the password' {
        Get-PgDrNode $primary -Credential $wrongCredential -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
        $failures[0].ToString() | Should -Not -Match 'not-the-password'
    }
}

Describe 'Get-PgReplicationLag' {
    It 'returns one healthy object per standby of the primary' {
        $lag = Get-PgDrNode $primary | Get-PgReplicationLag -MaxLagBytes 1GB
        ($lag.StandbyName | Sort-Object) | Should -Be @('region-b', 'region-c')
        $lag | ForEach-Object { $_.Healthy | Should -BeTrue }
    }

    It 'reports time lag 0 rather than nothing for a caught-up standby of an idle primary' {
        $lag = Get-PgReplicationLag $primary | Where-Object ByteLag -eq 0 | Select-Object -First 1
        $lag.TimeLag | Should -Be ([timespan]::Zero)
    }
}

Describe 'Replication slots' {
    It 'creates nothing under -WhatIf' {
        New-PgReplicationSlot $primary -Name pester_whatif -WhatIf
        { Get-PgReplicationSlot $primary -Name pester_whatif -ErrorAction Stop } | Should -Throw -ErrorId 'ReplicationSlotNotFound,*'
    }

    It 'creates a slot, reports it inactive, and removes it saying what it freed' {
        $slot = New-PgReplicationSlot $primary -Name pester_slot -Confirm:$false
        $slot.SlotName | Should -Be 'pester_slot'
        (Test-PgReplicationSlot $primary -Name pester_slot).Reasons | Should -Match '^inactive'
        $removed = $slot | Remove-PgReplicationSlot -Confirm:$false -PassThru
        $removed.FreedBytes | Should -BeGreaterOrEqual 0
        Get-PgReplicationSlot $primary -Name 'pester_*' | Should -BeNullOrEmpty
    }

    It 'refuses an invalid slot name with InvalidSlotName' {
        { New-PgReplicationSlot $primary -Name 'Bad-Name' -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSlotName,*'
    }

    It 'refuses to create a slot on a standby with NodeIsStandby' {
        { New-PgReplicationSlot $sandbox.Nodes[2].Instance -Name x -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'NodeIsStandby,*'
    }

    It 'answers -Quiet with one bool' {
        Test-PgReplicationSlot $primary -Name 'region_*' -Quiet | Should -BeTrue
    }
}

Describe 'Get-PgDrSandbox' {
    It 'shows every node streaming' {
        $status = Get-PgDrSandbox -Path $sandboxPath
        $status | Should -HaveCount 4
        $status | Where-Object Role -eq 'Standby' | ForEach-Object { $_.Lag.State | Should -Be 'streaming' }
    }
}
