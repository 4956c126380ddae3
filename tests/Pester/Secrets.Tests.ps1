#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# The cmdlets with a recognisable password in a PSCredential, verbose and debug output on: every stream they write
# (output, errors, warnings, verbose, debug, information), every error record, and the sandbox's files hold no trace of it,
# whether the password is right or wrong. (tests/Unit/Security/SecretsAbsentTests does the same for pgdr, process
# argument lists and the archive key.)

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PgDrTestSupport.psm1') -Force
    Import-Module (Get-PgDrModulePath) -Force
    $work = New-PgDrTestDirectory -Label 'secrets'
    $sandboxPath = Join-Path $work 'sandbox'
    $sandbox = New-PgDrSandbox -Path $sandboxPath -StandbyCount 1 -Confirm:$false
    $marker = 'PgDrPesterSecret'
    $secret = $marker + [guid]::NewGuid().ToString('N').Substring(0, 12)
    $address = "$($sandbox.Primary.Instance.Host):$($sandbox.Primary.Instance.Port)"
    $standbyAddress = "$($sandbox.Nodes[1].Instance.Host):$($sandbox.Nodes[1].Instance.Port)"
    # A superuser with the recognisable password, made through psql's standard input (never an argument list).
    $env:PGPASSFILE = Join-Path $sandboxPath '.pgpass'
    "CREATE ROLE pgdr_pester_admin LOGIN SUPERUSER PASSWORD '$secret';" |
        & (Join-Path $sandbox.Binaries.Directory 'psql') -X -q -v ON_ERROR_STOP=1 -h $sandbox.Primary.Instance.Host -p $sandbox.Primary.Instance.Port -U postgres -d postgres -f - | Out-Null
    $LASTEXITCODE | Should -Be 0
    Remove-Item Env:PGPASSFILE
    $cred = [pscredential]::new('pgdr_pester_admin', (ConvertTo-SecureString $secret -AsPlainText -Force))
    $wrong = [pscredential]::new('pgdr_pester_admin', (ConvertTo-SecureString ($secret + 'Wrong') -AsPlainText -Force))
}

AfterAll {
    if ($work -and (Test-Path $work)) {
        Remove-PgDrSandbox -Path $sandboxPath -Confirm:$false -ErrorAction SilentlyContinue
        Remove-Item $work -Recurse -Force
    }
}

Describe 'A password given as a PSCredential' {
    It 'appears in no stream and no error record of the cmdlets, right or wrong, with -Verbose and -Debug' {
        $VerbosePreference = 'Continue'
        $DebugPreference = 'Continue'
        $InformationPreference = 'Continue'
        $everything = & {
            Get-PgDrNode $address, $standbyAddress -Credential $cred
            Get-PgReplicationLag $address -Credential $cred
            Get-PgReplicationSlot $address -Credential $cred
            New-PgReplicationSlot $address -Name pester_secret -Credential $cred -Confirm:$false
            Test-PgReplicationSlot $address -Credential $cred
            Remove-PgReplicationSlot $address -Name pester_secret -Credential $cred -Confirm:$false -PassThru
            Set-PgSynchronousReplication $address -StandbyName region-b -Credential $cred -WhatIf
            Test-PgWalArchiving $address -Credential $cred
            Test-PgDrConfiguration $address, $standbyAddress -Credential $cred
            Get-PgDrNode $address -Credential $wrong -ErrorAction Continue
            Test-PgDrConfiguration $address -Credential $wrong
        } *>&1 2>&1
        $VerbosePreference = 'SilentlyContinue'
        $DebugPreference = 'SilentlyContinue'
        $InformationPreference = 'SilentlyContinue'

        $everything | Should -Not -BeNullOrEmpty
        @($everything | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }).Count | Should -BeGreaterThan 0
        $text = ($everything | ForEach-Object {
                if ($_ -is [System.Management.Automation.ErrorRecord]) { $_.ToString(); $_.Exception.ToString(); "$($_.TargetObject)"; $_.FullyQualifiedErrorId }
                else { $_ | Format-List * -Force | Out-String -Width 400 }
            }) -join "`n"
        $text | Should -Not -Match $marker
        ($Error | ForEach-Object { $_.ToString() + $_.Exception.ToString() }) -join "`n" | Should -Not -Match $marker
    }

    It 'is in no file of the sandbox: logs, postgresql.auto.conf, sandbox.json, data directories' {
        $hits = Get-ChildItem $sandboxPath -Recurse -File | Where-Object { Select-String -Path $_.FullName -Pattern $marker -SimpleMatch -Quiet -ErrorAction SilentlyContinue }
        $hits | Should -BeNullOrEmpty
    }
}
