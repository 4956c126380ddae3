#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Test-PgDrConfiguration as an admin and a Pester-based DR runbook use it, on a real sandbox (a primary and a standby):
# pipeline input from Get-PgDrSandbox and Get-PgDrNode, -Quiet, the verdicts inside a Pester It, the default view at 80
# columns, and a fault (a slot nobody uses) that turns -Quiet false and names itself by its stable check id.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PgDrTestSupport.psm1') -Force
    Import-Module (Get-PgDrModulePath) -Force
    $work = New-PgDrTestDirectory -Label 'diagnostics'
    $sandboxPath = Join-Path $work 'sandbox'
    $sandbox = New-PgDrSandbox -Path $sandboxPath -StandbyCount 1 -Confirm:$false
    $primary = $sandbox.Primary.Instance
    $cred = Get-PgDrSandboxCredential -Path $sandboxPath
}

AfterAll {
    if ($work -and (Test-Path $work)) {
        Remove-PgDrSandbox -Path $sandboxPath -Confirm:$false -ErrorAction SilentlyContinue
        Remove-Item $work -Recurse -Force
    }
}

Describe 'Test-PgDrConfiguration on a healthy sandbox' {
    It 'takes the nodes of Get-PgDrSandbox from the pipeline and fails no check' {
        $results = Get-PgDrSandbox -Path $sandboxPath | Test-PgDrConfiguration
        $results | Where-Object Verdict -eq Fail | Should -BeNullOrEmpty
        @($results | Where-Object CheckId -eq 'Connection').Count | Should -Be 2
        ($results | Where-Object { $_.CheckId -eq 'ClockSkew' }).Verdict | Should -Be 'Pass'
    }

    It 'takes Get-PgDrNode objects and a credential, and -Quiet says true' {
        $address = "$($primary.Host):$($primary.Port)"
        Get-PgDrNode $address -Credential $cred | Test-PgDrConfiguration -Credential $cred -Quiet | Should -BeTrue
    }

    It 'gives every warning a fix, and no pass one' {
        $results = Test-PgDrConfiguration $primary -SkipLog
        $results | Where-Object Verdict -ne Pass | ForEach-Object { $_.Fix | Should -Not -BeNullOrEmpty }
        $results | Where-Object Verdict -eq Pass | ForEach-Object { $_.Fix | Should -BeNullOrEmpty }
    }

    It 'fits its default table in 80 columns with Node, Check, Verdict and Evidence' {
        $text = Get-PgDrTableView (Test-PgDrConfiguration $primary -SkipLog) -Column Node, Check, Verdict, Evidence
        $text | Should -Match 'region-a'
        $text | Should -Match 'ReplicationSlot \(region_b\)'
        (Test-PgDrConfiguration $primary -SkipLog | Select-Object -First 1 | Format-List | Out-String) | Should -Match 'CheckId'
    }
}

Describe 'Test-PgDrConfiguration with a fault' {
    BeforeAll { New-PgReplicationSlot $primary -Name pester_forgotten -Confirm:$false | Out-Null }
    AfterAll { Remove-PgReplicationSlot $primary -Name pester_forgotten -Confirm:$false -ErrorAction SilentlyContinue }

    It 'answers -Quiet with false while a slot nobody uses holds WAL' {
        Test-PgDrConfiguration $primary -SkipLog -Quiet | Should -BeFalse
    }

    It 'names the fault by its check id and subject, with the fix' {
        $failure = Test-PgDrConfiguration $primary -SkipLog | Where-Object Verdict -eq Fail
        $failure.CheckId | Should -Be 'ReplicationSlot'
        $failure.Subject | Should -Be 'pester_forgotten'
        $failure.Fix | Should -Match 'Remove-PgReplicationSlot'
        "$($failure.Instance)" | Should -Be "$primary"
    }

    It 'reports an unreachable node as a failed Connection check, not an error' {
        $closed = "127.0.0.1:$(Get-PgDrFreePort)"
        $result = Test-PgDrConfiguration $closed -Credential $cred -ErrorVariable failures
        $failures | Should -BeNullOrEmpty
        $result.CheckId | Should -Be 'Connection'
        $result.Verdict | Should -Be 'Fail'
        $result.Evidence | Should -Match 'HostUnreachable'
    }
}
