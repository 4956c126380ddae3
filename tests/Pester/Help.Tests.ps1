#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Get-Help -Full is complete for every exported cmdlet (the MAML build/HelpGen writes from the cmdlets' XML docs), and
# about_PgDr explains the layers and the configuration file. Cmdlets added later are checked the same way: the test
# reads the list from the module, not from here.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'PgDrTestSupport.psm1') -Force
    Import-Module (Get-PgDrModulePath) -Force
    $cmdlets = (Get-Command -Module PgDr -CommandType Cmdlet).Name | Sort-Object | ForEach-Object { @{ Name = $_ } }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PgDrTestSupport.psm1') -Force
    Import-Module (Get-PgDrModulePath) -Force
    $common = [System.Management.Automation.Internal.CommonParameters].GetProperties().Name
}

Describe 'Get-Help <Name> -Full' -ForEach $cmdlets {
    BeforeAll {
        $help = Get-Help $Name -Full
        $command = Get-Command $Name
    }

    It 'has a synopsis that is more than the syntax' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match "^\s*$Name\s"
    }

    It 'has a description' {
        ($help.Description.Text -join ' ') | Should -Match '\w{4,}'
    }

    It 'describes every parameter' {
        $declared = $command.Parameters.Keys | Where-Object { $_ -notin $common }
        foreach ($parameter in $declared) {
            $entry = $help.Parameters.Parameter | Where-Object Name -eq $parameter
            $entry | Should -Not -BeNullOrEmpty -Because "-$parameter should be in the help"
            ($entry.Description.Text -join ' ') | Should -Match '\w{3,}' -Because "-$parameter should be described"
        }
    }

    It 'names its inputs and outputs' {
        $help.InputTypes.InputType.Type.Name | Should -Not -BeNullOrEmpty
        $help.ReturnValues.ReturnValue.Type.Name | Should -Not -BeNullOrEmpty
        foreach ($output in $command.OutputType.Name | Where-Object { $_ -ne 'System.Void' }) {
            $help.ReturnValues.ReturnValue.Type.Name | Should -Contain $output
        }
    }

    It 'has at least one example that uses it' {
        @($help.Examples.Example).Count | Should -BeGreaterThan 0
        ($help.Examples.Example.Code -join "`n") | Should -Match ([regex]::Escape($Name))
    }
}

Describe 'about_PgDr' {
    It 'explains the three layers and the configuration file' {
        $text = Get-Help about_PgDr | Out-String
        $text | Should -Match 'THE THREE LAYERS'
        $text | Should -Match 'Streaming replication'
        $text | Should -Match 'WAL archiving'
        $text | Should -Match 'Base backups'
        $text | Should -Match 'THE CONFIGURATION FILE'
        $text | Should -Match 'PGDR_CONFIG'
    }

    It 'is linked from every cmdlet''s help' {
        (Get-Help Get-PgDrNode -Full).RelatedLinks.NavigationLink.LinkText | Should -Contain 'about_PgDr'
    }
}
